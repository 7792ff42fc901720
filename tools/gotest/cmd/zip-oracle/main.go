// zip-oracle prints golang.org/x/mod's verdict on module zips, for goxy-zip's
// differential tests.
//
//	zip-oracle check <zipfile> <module> <version>
//	    zip.CheckZip, then dirhash.HashZip, then zip.Unzip into a temp dir
//	    (Unzip is what enforces declared sizes). Prints "ok <h1>" or "err <msg>".
//	zip-oracle create <dir> <module> <version> <outzip>
//	    zip.CreateFromDir into outzip, then dirhash.HashZip of it.
//	    Prints "ok <h1>" or "err <msg>".
//	zip-oracle foldtable
//	    For every rune r whose x/mod strToFold differs from r, prints "<r hex> <fold hex>".
//	zip-oracle gomod <file>...
//	    For each go.mod file prints a JSON object: modfile.ModulePath, and from
//	    modfile.ParseLax: ok, go version, version.Lang("go"+version) as zip.Create
//	    computes it, retract intervals.
package main

import (
	"encoding/json"
	"fmt"
	"go/version"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: zip-oracle check|create|foldtable ...")
	}
	switch os.Args[1] {
	case "check":
		if len(os.Args) != 5 {
			fail("usage: zip-oracle check <zipfile> <module> <version>")
		}
		check(os.Args[2], module.Version{Path: os.Args[3], Version: os.Args[4]})
	case "create":
		if len(os.Args) != 6 {
			fail("usage: zip-oracle create <dir> <module> <version> <outzip>")
		}
		create(os.Args[2], module.Version{Path: os.Args[3], Version: os.Args[4]}, os.Args[5])
	case "foldtable":
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if !utf8.ValidRune(r) {
				continue
			}
			if f := foldRune(r); f != r {
				fmt.Printf("%x %x\n", r, f)
			}
		}
	case "gomod":
		for _, name := range os.Args[2:] {
			data, err := os.ReadFile(name)
			if err != nil {
				fail(err.Error())
			}
			goMod(data)
		}
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}

func verdict(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Printf("err %s\n", msg)
}

func check(zipFile string, m module.Version) {
	if _, err := zip.CheckZip(m, zipFile); err != nil {
		verdict(err)
		return
	}
	h1, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		verdict(err)
		return
	}
	dir, err := os.MkdirTemp("", "zip-oracle-unzip-")
	if err != nil {
		fail(err.Error())
	}
	defer os.RemoveAll(dir)
	if err := zip.Unzip(dir+"/m", m, zipFile); err != nil {
		verdict(err)
		return
	}
	fmt.Printf("ok %s\n", h1)
}

func create(dir string, m module.Version, outZip string) {
	f, err := os.Create(outZip)
	if err != nil {
		fail(err.Error())
	}
	err = zip.CreateFromDir(f, m, dir)
	if cerr := f.Close(); err == nil && cerr != nil {
		fail(cerr.Error())
	}
	if err != nil {
		verdict(err)
		return
	}
	h1, err := dirhash.HashZip(outZip, dirhash.Hash1)
	if err != nil {
		verdict(err)
		return
	}
	fmt.Printf("ok %s\n", h1)
}

// foldRune is x/mod zip's strToFold applied to a single rune.
func foldRune(r rune) rune {
	for {
		r0 := r
		r = unicode.SimpleFold(r0)
		if r <= r0 {
			break
		}
	}
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}

type goModVerdict struct {
	ModulePath string      `json:"module_path"`
	LaxOK      bool        `json:"lax_ok"`
	Go         string      `json:"go"`
	Lang       string      `json:"lang"`
	Retract    [][2]string `json:"retract"`
}

func goMod(data []byte) {
	v := goModVerdict{ModulePath: modfile.ModulePath(data), Retract: [][2]string{}}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err == nil {
		v.LaxOK = true
		if f.Go != nil {
			v.Go = f.Go.Version
			v.Lang = version.Lang("go" + f.Go.Version)
		}
		for _, r := range f.Retract {
			v.Retract = append(v.Retract, [2]string{r.Low, r.High})
		}
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
}
