# The founding document's Dockerfile ("The Go 1.11 web service Dockerfile: Build with Modules,
# Ship from Scratch", 2018), as the benchmark builds it to compare with this template's.
#
# Two changes. The original installs the CA bundle and git with `apk add --no-cache
# ca-certificates git`. The benchmark's build machine has no package registry, and its
# golang:<version>-alpine image already holds /etc/ssl/certs/ca-certificates.crt, so that line
# is left out. And the builder image is a build argument (GOLANG_IMAGE, by default the original
# golang:${GO_VERSION}-alpine), so that the benchmark can build with a local stand-in that does
# not carry the official name. Everything else is as published (no -trimpath, no -s -w, no
# cache mounts).

# Accept the Go version for the image to be set as a build argument.
# Default to Go 1.11
ARG GO_VERSION=1.11
ARG GOLANG_IMAGE=golang:${GO_VERSION}-alpine

# First stage: build the executable.
FROM ${GOLANG_IMAGE} AS builder

# Create the user and group files that will be used in the running container to
# run the process as an unprivileged user.
RUN mkdir /user && \
    echo 'nobody:x:65534:65534:nobody:/:' > /user/passwd && \
    echo 'nobody:x:65534:' > /user/group

# Install the Certificate-Authority certificates for the app to be able to make
# calls to HTTPS endpoints.
# Git is required for fetching the dependencies.
# RUN apk add --no-cache ca-certificates git   (left out: see above)

# Set the working directory outside $GOPATH to enable the support for modules.
WORKDIR /src

# Fetch dependencies first; they are less susceptible to change on every build
# and will therefore be cached for speeding up the next build
COPY ./go.mod ./go.sum ./
RUN go mod download

# Import the code from the context.
COPY ./ ./

# Build the executable to `/app`. Mark the build as statically linked.
RUN CGO_ENABLED=0 go build \
    -installsuffix 'static' \
    -o /app .

# Final stage: the running container.
FROM scratch AS final

# Import the user and group files from the first stage.
COPY --from=builder /user/group /user/passwd /etc/

# Import the Certificate-Authority certificates for enabling HTTPS.
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/

# Import the compiled executable from the first stage.
COPY --from=builder /app /app

# Declare the port on which the webserver will be exposed.
# As we're going to run the executable as an unprivileged user, the 'root'
# user, we need to expose a port above 1024.
EXPOSE 8080

# Perform any further action as an unprivileged user.
USER nobody:nobody

# Run the compiled binary.
ENTRYPOINT ["/app"]
