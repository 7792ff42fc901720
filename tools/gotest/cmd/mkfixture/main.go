// Command mkfixture writes the deterministic fixture modules goxy's
// end-to-end tests and benchmark use.
//
// Usage:
//
//	mkfixture -proxy DIR [-project DIR] [-bench]
//
// -proxy DIR receives a GOPROXY tree (usable as GOPROXY=file://DIR):
// <escaped path>/@v/list, <escaped version>.info/.mod/.zip for every fixture
// module. -project DIR receives a main module (go.mod + main.go) that
// requires at least 20 of the fixture modules. -bench adds
// example.test/bench@v1.0.0 with a ~150 B .info, a ~1 KiB .mod and a 1 MiB .zip.
//
// Zips are made with golang.org/x/mod/zip.Create, so they follow exactly the
// rules the go command checks. Every byte written depends only on the flags.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// depCount is the number of example.test/depNN modules.
const depCount = 25

// depVersions are the versions every depNN module has.
var depVersions = []string{"v1.0.0", "v1.1.0", "v1.2.0"}

// baseTime is the commit time of the first fixture version; later versions
// are a day apart so `.info` Time values are distinct and ordered.
var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type fixtureVersion struct {
	version string
	// goMod is the go.mod file inside the zip; empty means the module has no
	// go.mod at this version and the .mod file is synthesized.
	goMod string
	// files are the other files of the module, by slash path.
	files map[string][]byte
	// infoExtra is raw JSON appended to the .info object (after Time).
	infoExtra string
}

type fixtureModule struct {
	path     string
	versions []fixtureVersion
}

func main() {
	proxyDir := flag.String("proxy", "", "directory to write the GOPROXY tree into (required)")
	projectDir := flag.String("project", "", "directory to write the fixture main module into")
	bench := flag.Bool("bench", false, "also write the benchmark module example.test/bench")
	flag.Parse()
	if *proxyDir == "" {
		fmt.Fprintln(os.Stderr, "mkfixture: -proxy is required")
		os.Exit(2)
	}
	mods := fixtureModules()
	if *bench {
		mods = append(mods, benchModule())
	}
	for i, m := range mods {
		if err := writeModule(*proxyDir, m, i); err != nil {
			fmt.Fprintf(os.Stderr, "mkfixture: %s: %v\n", m.path, err)
			os.Exit(1)
		}
	}
	if *projectDir != "" {
		if err := writeProject(*projectDir); err != nil {
			fmt.Fprintf(os.Stderr, "mkfixture: project: %v\n", err)
			os.Exit(1)
		}
	}
}

func depPath(n int) string { return fmt.Sprintf("example.test/dep%02d", n) }

func depPkg(n int) string { return fmt.Sprintf("dep%02d", n) }

// fixtureModules returns the dependency graph plus the special-case modules.
//
// The graph: depN@v1.k.0 requires dep(2N)@v1.k.0 and dep(2N+1)@v1.(2-k).0
// (when they exist), and depN@v1.2.0 also requires dep(N+1)@v1.0.0, so the
// minimal version selection has to compare versions reached by several paths.
// dep01 reaches every other depNN.
func fixtureModules() []fixtureModule {
	var mods []fixtureModule
	for n := 1; n <= depCount; n++ {
		m := fixtureModule{path: depPath(n)}
		for k, v := range depVersions {
			var req []string
			if c := 2 * n; c <= depCount {
				req = append(req, fmt.Sprintf("%s %s", depPath(c), depVersions[k]))
			}
			if c := 2*n + 1; c <= depCount {
				req = append(req, fmt.Sprintf("%s %s", depPath(c), depVersions[2-k]))
			}
			if c := n + 1; k == 2 && c <= depCount && c != 2*n && c != 2*n+1 {
				req = append(req, fmt.Sprintf("%s v1.0.0", depPath(c)))
			}
			sort.Strings(req)
			goMod := fmt.Sprintf("module %s\n\ngo 1.16\n", depPath(n))
			if len(req) > 0 {
				goMod += "\nrequire (\n"
				for _, r := range req {
					goMod += "\t" + r + "\n"
				}
				goMod += ")\n"
			}
			src := fmt.Sprintf("// Package %s is a goxy test fixture.\npackage %s\n\n// Name identifies the module and version.\nfunc Name() string { return %q }\n",
				depPkg(n), depPkg(n), depPath(n)+"@"+v)
			m.versions = append(m.versions, fixtureVersion{
				version: v,
				goMod:   goMod,
				files: map[string][]byte{
					depPkg(n) + ".go": []byte(src),
					"LICENSE":         []byte("fixture license for " + depPath(n) + "\n"),
				},
			})
		}
		mods = append(mods, m)
	}

	pkgSrc := func(pkg, id string) []byte {
		return []byte(fmt.Sprintf("package %s\n\n// ID identifies the fixture.\nconst ID = %q\n", pkg, id))
	}

	// Uppercase letters in the module path: escaped as example.test/!upper!case/!mod.
	upper := fixtureModule{path: "example.test/UpperCase/Mod"}
	for _, v := range []string{"v1.0.0", "v1.0.1"} {
		upper.versions = append(upper.versions, fixtureVersion{
			version: v,
			goMod:   "module example.test/UpperCase/Mod\n\ngo 1.16\n",
			files:   map[string][]byte{"mod.go": pkgSrc("mod", "UpperCase/Mod@"+v), "Sub/README.md": []byte("Uppercase file path\n")},
		})
	}
	mods = append(mods, upper)

	// +incompatible: no go.mod at v1 or v2, so the go command's latest is v2.0.0+incompatible.
	incompat := fixtureModule{path: "example.test/incompat"}
	for _, v := range []string{"v1.0.0", "v2.0.0+incompatible"} {
		incompat.versions = append(incompat.versions, fixtureVersion{
			version: v,
			files:   map[string][]byte{"incompat.go": pkgSrc("incompat", "incompat@"+v)},
		})
	}
	mods = append(mods, incompat)

	// A pre-release with uppercase letters: escaped as v1.0.0-!r!c1.
	pre := fixtureModule{path: "example.test/pre"}
	for _, v := range []string{"v0.9.0", "v1.0.0-RC1"} {
		pre.versions = append(pre.versions, fixtureVersion{
			version: v,
			goMod:   "module example.test/pre\n\ngo 1.16\n",
			files:   map[string][]byte{"pre.go": pkgSrc("pre", "pre@"+v)},
		})
	}
	mods = append(mods, pre)

	// No go.mod at all: the .mod is synthesized as "module example.test/nogomod\n".
	mods = append(mods, fixtureModule{path: "example.test/nogomod", versions: []fixtureVersion{{
		version: "v1.0.0",
		files:   map[string][]byte{"nogomod.go": pkgSrc("nogomod", "nogomod@v1.0.0")},
	}}})
	return mods
}

// benchModule is example.test/bench@v1.0.0: ~150 B .info, ~1 KiB .mod, 1 MiB .zip.
func benchModule() fixtureModule {
	var goMod strings.Builder
	goMod.WriteString("// Module bench is the goxy serving benchmark's fixture; this comment pads\n// the go.mod to about one KiB, the size of a typical go.mod.\nmodule example.test/bench\n\ngo 1.21\n\nrequire (\n")
	for n := 1; goMod.Len() < 1000; n++ {
		fmt.Fprintf(&goMod, "\t%s v1.2.0\n", depPath(n))
	}
	goMod.WriteString(")\n")
	// Incompressible content so the zip really is 1 MiB on the wire.
	rng := rand.New(rand.NewSource(1))
	const zipTarget = 1 << 20
	blob := make([]byte, zipTarget-1081) // 1081 = zip overhead for this module
	rng.Read(blob)
	return fixtureModule{path: "example.test/bench", versions: []fixtureVersion{{
		version:   "v1.0.0",
		goMod:     goMod.String(),
		files:     map[string][]byte{"bench.go": []byte("package bench\n"), "data.bin": blob},
		infoExtra: `,"Origin":{"VCS":"git","URL":"https://example.test/bench","Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/v1.0.0"}`,
	}}}
}

func writeModule(root string, m fixtureModule, modIndex int) error {
	escPath, err := module.EscapePath(m.path)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	var list []string
	for vi, fv := range m.versions {
		mv := module.Version{Path: m.path, Version: fv.version}
		if err := module.Check(mv.Path, mv.Version); err != nil {
			return err
		}
		escVer, err := module.EscapeVersion(fv.version)
		if err != nil {
			return err
		}
		list = append(list, fv.version)

		t := baseTime.Add(time.Duration(modIndex*24+vi) * time.Hour)
		tj, err := json.Marshal(t)
		if err != nil {
			return err
		}
		info := fmt.Sprintf(`{"Version":%q,"Time":%s%s}`, fv.version, tj, fv.infoExtra)
		if err := os.WriteFile(filepath.Join(dir, escVer+".info"), []byte(info), 0o666); err != nil {
			return err
		}

		modBytes := []byte(fv.goMod)
		if fv.goMod == "" {
			modBytes = []byte("module " + m.path + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, escVer+".mod"), modBytes, 0o666); err != nil {
			return err
		}

		files := map[string][]byte{}
		for name, data := range fv.files {
			files[name] = data
		}
		if fv.goMod != "" {
			files["go.mod"] = []byte(fv.goMod)
		}
		var names []string
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		var zfiles []modzip.File
		for _, name := range names {
			zfiles = append(zfiles, memFile{name: name, data: files[name]})
		}
		var buf bytes.Buffer
		if err := modzip.Create(&buf, mv, zfiles); err != nil {
			return fmt.Errorf("%s: zip: %v", mv, err)
		}
		if err := os.WriteFile(filepath.Join(dir, escVer+".zip"), buf.Bytes(), 0o666); err != nil {
			return err
		}
	}
	semver.Sort(list)
	return os.WriteFile(filepath.Join(dir, "list"), []byte(strings.Join(list, "\n")+"\n"), 0o666)
}

// writeProject writes a main module requiring dep01..dep20 directly (dep21..25
// come in indirectly) and the four special-case modules. Its go directive is
// 1.16 so the module graph is unpruned and the go.mod needs only the direct
// requirements; `go mod download` then fetches the whole build list.
func writeProject(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	var req, imports, calls []string
	for n := 1; n <= 20; n++ {
		req = append(req, fmt.Sprintf("\t%s %s", depPath(n), depVersions[n%len(depVersions)]))
		imports = append(imports, fmt.Sprintf("\t%q", depPath(n)))
		calls = append(calls, fmt.Sprintf("\tfmt.Println(%s.Name())", depPkg(n)))
	}
	req = append(req,
		"\texample.test/UpperCase/Mod v1.0.1",
		"\texample.test/incompat v2.0.0+incompatible",
		"\texample.test/nogomod v1.0.0",
		"\texample.test/pre v1.0.0-RC1",
	)
	for _, p := range []string{"example.test/UpperCase/Mod", "example.test/incompat", "example.test/nogomod", "example.test/pre"} {
		imports = append(imports, fmt.Sprintf("\t%q", p))
	}
	calls = append(calls, "\tfmt.Println(mod.ID, incompat.ID, nogomod.ID, pre.ID)")
	goMod := "module example.test/project\n\ngo 1.16\n\nrequire (\n" + strings.Join(req, "\n") + "\n)\n"
	mainGo := "package main\n\nimport (\n\t\"fmt\"\n\n" + strings.Join(imports, "\n") + "\n)\n\nfunc main() {\n" + strings.Join(calls, "\n") + "\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o666); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo), 0o666)
}

// memFile is a module file held in memory, for zip.Create.
type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return filepath.Base(i.f.name) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return baseTime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
