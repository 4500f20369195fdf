// Package versioning is the gitseal store: the encrypted secrets of an
// application kept under .gitseal/ in the application's own git repository,
// read from git objects at any commit and changed one commit at a time.
//
// # When to use what
//
//   - Open a Store on a directory inside a repository, then read with
//     Store.Snapshot (the branch tip, or any revision) and Snapshot.Env.
//   - Every mutation (Init, Set, Generate, Remove, Import) is exactly one
//     commit on the current branch that touches only .gitseal/ paths, or, with
//     WriteOptions.Stage, files written and staged without a commit.
//   - Reads never look at the working tree: what a Snapshot returns is what
//     was committed.
//
// # Layout
//
//	.gitseal/store.json                 store id, format version, default environment
//	.gitseal/<env>/recipients           public keys that may read <env>
//	.gitseal/<env>/datakey.age          <env>'s data key, wrapped for every recipient
//	.gitseal/<env>/secrets/<NAME>       one sealed secret per file
//	.gitseal/<env>/keys/<NAME>          one sealed keyring per named encryption key
//
// store.json is JSON with the fields "format" (always "gitseal/v1" for this
// version; anything else is refused as unknown), "id" (32 lowercase hex digits,
// 128 random bits, bound into every ciphertext) and "default_env".
//
// Decisions where DESIGN.md is silent:
//   - Setting a secret to the value it has makes no commit; so does an import
//     in which nothing changes.
//   - generate replaces an existing value, like set.
//   - ls --json reports, for each secret, the newest commit on the first-parent
//     chain of the branch tip that changed it (git log --first-parent).
package versioning
