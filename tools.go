//go:build tools

// This file pins modules that packages under construction will import, so
// that go.mod lists them before the first import lands.
package tools

import (
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/pemistahl/lingua-go"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/term"
	_ "golang.org/x/text/unicode/norm"
	_ "gonum.org/v1/plot"
	_ "gopkg.in/yaml.v3"
)
