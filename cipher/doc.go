// Package cipher is gitseal's cryptography: environment data keys and their
// wrapping with age, recipients and identities, sealed secret and keyring
// files, named encryption keys, and the two foreign wire formats gitseal
// speaks. It is the only package that imports filippo.io/age or
// golang.org/x/crypto, and it imports nothing else of gitseal's.
//
// It does no file system work beyond reading identity files, and no git
// work: callers hand it bytes and store the bytes it returns.
//
// # When to use what
//
// Storing an environment:
//
//   - NewDataKey makes an environment's 256-bit data key. It never leaves
//     this package unwrapped: there is no accessor, and fmt prints it
//     redacted.
//   - WrapDataKey encrypts it to the environment's recipients (the text of
//     datakey.age); UnwrapDataKey gets it back with the user's Identities.
//     WrapDataKeyPassphrase and UnwrapDataKeyPassphrase do the same for an
//     optional passphrase, in a file of its own.
//   - Seal and Open encrypt one secret value (Kind KindSecret) or one
//     serialised Keyring (KindKeyring) under the data key, bound to a Binding
//     of store id, environment, kind and name, so a file copied elsewhere
//     does not open. Seal is randomised: to tell whether a value changed,
//     Open the old file and compare plaintexts. CheckSealed checks a file's
//     structure without a key, for `gitseal check`; CheckWrappedDataKey
//     checks, also without a key, that datakey.age is wrapped to exactly the
//     keys of the recipients file.
//   - ValidName checks a secret or key name before any path is built from it.
//
// People and machines:
//
//   - ParseRecipient parses one public key (age, ssh-ed25519, ssh-rsa);
//     ParseRecipients a recipients file, a .pub file or a GitHub .keys list;
//     FormatRecipients writes the canonical recipients file.
//   - LoadIdentities finds the user's private keys in gitseal's lookup order
//     (--identity, GITSEAL_IDENTITY, GITSEAL_IDENTITY_FILE, the gitseal
//     identity file, ~/.ssh/id_ed25519, ~/.ssh/id_rsa); ParseIdentities reads
//     one from text. Identities.Recipients gives their public keys, to add
//     the user to a new store.
//   - GenerateIdentity makes a new age identity file, as age-keygen does.
//
// Named keys and foreign formats (KEYS.md):
//
//   - Keyring holds every version of one named key; its MarshalBinary output
//     is what Seal with KindKeyring protects. Keyring.Encrypt and
//     Keyring.Decrypt read and write the hosted service's payload format,
//     which EncryptPayload and DecryptPayload also speak for a bare key.
//   - FletEncrypt and FletDecrypt read and write Flet passphrase tokens.
//
// # Errors
//
// Every failed decryption wraps ErrSecret ("cannot decrypt"), whatever
// failed; the message says what and the likely cause, never the plaintext,
// a key, a passphrase or an input line. A file of a newer format wraps
// ErrUnknownVersion; no identity anywhere wraps ErrNoIdentity; a value over
// MaxValueSize wraps ErrTooLarge.
//
// # Format
//
// FORMAT.md, next to this file, is the normative specification of the sealed
// files, the wrapped data key and the recipients file, with a worked example,
// security considerations and vectors (testdata/vectors). KEYS.md specifies
// the keyring serialisation and the foreign formats.
package cipher
