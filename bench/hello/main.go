// Command hello is the floor for the service benchmark: a bare net/http server
// that answers every request with the same bytes as the generated service's
// GET /, with no router patterns, no middleware and no logging.
package main

import (
	"log"
	"net/http"
	"os"
)

var greeting = []byte(`{"name":"go-scratch-service","version":"dev"}` + "\n")

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write(greeting); err != nil {
			log.Print(err)
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil))
}
