// Package publish is the half of gitseal that production touches: pins,
// publish history, pin files, bundles and the runtime loader.
//
// # When to use what
//
//   - Publish pins an environment at a commit (refs/gitseal/pins/<env>) and
//     records who did it, when, and what the pin was before, as a commit on
//     refs/gitseal/publish/<env>; Unpublish removes the pin; Pins and History
//     list them. WritePinFile writes the pin into a build artifact.
//   - Open is the runtime loader. It picks the commit with Resolve, in the
//     order of DESIGN §5: Options.Ref, GITSEAL_REF, Options.PinFile or
//     GITSEAL_PIN_FILE, the pin ref, then HEAD; or it reads a bundle
//     (Options.Bundle) with no repository at all, or loads from a git
//     remote (Options.Remote) without a clone, fetching only the chosen
//     commit's objects into memory. It reads committed objects
//     only: uncommitted edits never reach a running service. Values are
//     decrypted when asked for; the data key is unwrapped once.
//   - WriteBundle writes one environment, still encrypted, at its pin, to one
//     file sealed under the environment's data key.
//   - Push and Fetch move refs/gitseal/* (pins, publish history, the audit
//     log) to and from a remote: history only forward, pins following the
//     history that records them (FORMAT.md §5).
//   - PublishSigned signs the publish record with an SSH key (cipher.Signer);
//     Options.TrustedPublishers or GITSEAL_TRUST make Open refuse a commit
//     that no trusted key published, with an error wrapping
//     cipher.ErrUntrusted (FORMAT.md §6).
//
// The byte formats (publish record, pin file, bundle) are specified in
// FORMAT.md.
//
// Decisions where DESIGN.md is silent:
//   - Publishing the commit that is already pinned is recorded again (a
//     re-publish is an event worth keeping).
//   - With no environment named, the runtime uses GITSEAL_ENV, then the pin
//     file's environment, then the store's default at HEAD (at the explicit
//     ref when one is given).
//   - A pin file names its environment and store; a runtime asked for
//     another environment, or opened on another store, refuses it.
//   - A bundle can be made only by someone who can read the environment
//     (its seal uses the data key), and opening one unwraps the data key at
//     Open, so a tampered bundle fails before any value is returned.
package publish
