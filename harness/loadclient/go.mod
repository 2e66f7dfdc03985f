module loadclient

// The oldest Go the builder stand-in may carry; the client needs nothing newer.
go 1.24
