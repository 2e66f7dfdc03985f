// Command barepgx is the floor of the database benchmark: GET /notes/{id} answered by the
// generated service's query (sqlc's GetNote) on a bare pgxpool, with no router middleware,
// no logging and no timeouts, encoded as the service encodes a note.
//
// It has no go.mod of its own: bench/database.py builds it inside a copy of a generated
// postgres project, so that it runs the very pgx release that project pins.
//
//	PORT=8081 DATABASE_URL=postgres://... barepgx
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const getNote = "SELECT id, text FROM notes WHERE id = $1"

type note struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
}

func main() {
	pool, err := pgxpool.New(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := pool.Ping(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		var n note
		err = pool.QueryRow(r.Context(), getNote, id).Scan(&n.ID, &n.Text)
		if errors.Is(err, pgx.ErrNoRows) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(n); err != nil {
			log.Print(err)
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
}
