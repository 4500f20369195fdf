package versioning

// The store's layout, exported for package publish, which reads the same
// files from git objects or from a bundle without a Store.

// StorePath is the path of store.json from the repository root.
const StorePath = storePath

// EnvDir is the directory of an environment: .gitseal/<env>.
func EnvDir(env string) string { return envDir(env) }

// DataKeyPath is the path of an environment's wrapped data key.
func DataKeyPath(env string) string { return dataKeyPath(env) }

// RecipientsPath is the path of an environment's recipients file, in the
// order its data key was wrapped for them.
func RecipientsPath(env string) string { return recipientsPath(env) }

// PassphrasePath is the path of an environment's passphrase-wrapped data key.
func PassphrasePath(env string) string { return passphrasePath(env) }

// SecretPath is the path of one sealed secret.
func SecretPath(env, name string) string { return secretPath(env, name) }

// SecretsDir is the directory of an environment's sealed secrets.
func SecretsDir(env string) string { return secretsDir(env) }

// KeyPath is the path of one sealed keyring.
func KeyPath(env, name string) string { return keyPath(env, name) }

// StoreInfo is what store.json says.
type StoreInfo struct {
	// ID is the store's random id, bound into every ciphertext.
	ID string
	// DefaultEnv is the environment used when none is named.
	DefaultEnv string
}

// ParseStoreFile checks and parses the content of store.json. A format this
// gitseal does not know gives an error wrapping cipher.ErrUnknownVersion.
func ParseStoreFile(data []byte) (StoreInfo, error) {
	m, err := parseMeta(data)
	if err != nil {
		return StoreInfo{}, err
	}
	return StoreInfo{ID: m.ID, DefaultEnv: m.DefaultEnv}, nil
}
