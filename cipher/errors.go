package cipher

import "errors"

// Sentinel errors, for callers that branch on a condition. The errors this
// package returns wrap them with the detail a person needs (what failed, the
// likely cause, the command that helps); match them with errors.Is.
var (
	// ErrSecret is wrapped by every failed decryption: a sealed file that
	// does not open (tampered with, truncated, copied from another name,
	// environment, kind or repository, or sealed under another data key), a
	// data key that no loaded identity can unwrap, a wrong passphrase. It is
	// the equivalent of the hosted service's SecretError.
	ErrSecret = errors.New("cannot decrypt")

	// ErrNoIdentity means that no identity was found anywhere in the lookup
	// order of LoadIdentities. The wrapping error lists where it looked.
	ErrNoIdentity = errors.New("no identity found")

	// ErrUnknownVersion means that a file carries a format version tag this
	// gitseal does not know, most likely written by a newer gitseal.
	ErrUnknownVersion = errors.New("unknown format version")

	// ErrTooLarge means that a value is larger than MaxValueSize.
	ErrTooLarge = errors.New("value too large")

	// ErrUnsupportedKey means that a public key is well formed but of a
	// type age cannot encrypt to (ECDSA, DSA, hardware sk- keys, SSH
	// certificates).
	ErrUnsupportedKey = errors.New("unsupported key type")
)

// MaxValueSize is the largest plaintext, in bytes, that Seal accepts: 1 MiB.
const MaxValueSize = 1 << 20
