# Build: docker build -t sheriff .
# Run:   docker run -p 8080:8080 -v sheriff-data:/data sheriff run --listen 0.0.0.0:8080 --data-dir /data
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# modernc.org/sqlite is pure Go: the binary needs no C library.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/wikimedia/sheriff/internal/app.Version=${VERSION}" -o /out/sheriff ./cmd/sheriff

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --home /data --uid 10001 sheriff \
	&& mkdir /data && chown sheriff /data
COPY --from=build /out/sheriff /usr/local/bin/sheriff
USER sheriff
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sheriff"]
CMD ["run", "--listen", "0.0.0.0:8080", "--data-dir", "/data"]
