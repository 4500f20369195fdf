package publish_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gitseal/gitseal/publish"
)

// A service reads its secrets as they were at the commit its environment is
// published at: GITSEAL_REF, GITSEAL_PIN_FILE, the pin ref, else HEAD.
func ExampleOpen() {
	s, err := publish.Open(context.Background(), publish.Options{Dir: ".", Env: "production"})
	if err != nil {
		log.Fatal(err) // errors.Is(err, cipher.ErrSecret): no identity can read production
	}
	defer s.Close()
	dbPassword, err := s.Get("DB_PASSWORD") // errors.Is(err, publish.ErrNotFound) when absent
	if err != nil {
		log.Fatal(err)
	}
	ct, err := s.EncryptWithKey("app_key", []byte("a row of data"))
	if err != nil {
		log.Fatal(err)
	}
	pt, err := s.DecryptWithKey("app_key", ct)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(dbPassword) > 0, string(pt), s.Commit())
}

// An image without .git reads a bundle made by `gitseal bundle ENV -o FILE`.
func ExampleOpen_bundle() {
	s, err := publish.Open(context.Background(), publish.Options{Bundle: "/app/secrets.bundle"})
	if err != nil {
		log.Fatal(err) // a bundle changed in any byte: errors.Is(err, cipher.ErrSecret)
	}
	defer s.Close()
	for _, name := range s.Names() {
		fmt.Println(name)
	}
}

// A service with no clone reads its secrets from the app's git remote: only
// the pinned commit's objects are fetched, into memory. With trusted
// publisher keys, a pin that no trusted key signed is refused.
func ExampleOpen_remote() {
	s, err := publish.Open(context.Background(), publish.Options{
		Remote:            "https://git.example.com/acme/app.git",
		Env:               "production",
		TrustedPublishers: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4 release"},
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, cipher.ErrUntrusted): not signed by a trusted publisher
	}
	defer s.Close()
	fmt.Println(s.Commit(), s.From())
}
