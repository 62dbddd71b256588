module github.com/centrifugehq/centrifuge/tests/compat/gocent

go 1.26.0

require (
	github.com/centrifugal/gocent/v3 v3.4.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/gorilla/websocket v1.5.3
)
