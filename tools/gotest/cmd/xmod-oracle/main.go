// Command xmod-oracle answers questions about Go module semantics using
// golang.org/x/mod itself, for goxy-mod's differential tests.
//
// Each stdin line is `<op>\t<arg>...` with every argument hex-encoded (so
// arguments may hold tabs, newlines and arbitrary bytes). Each input line
// gets exactly one output line:
//
//	ok | true | false | -1 | 0 | 1      plain results
//	=<hex>                              a string value
//	=<hex> =<hex>                       two string values (SplitPathVersion)
//	err:<hex>                           an error, with its message
//	panic                               x/mod panicked
//	bad-op / bad-input                  the line could not be understood
//
// With -letter-table it instead prints the Rust source of goxy-mod's
// Unicode letter table (see lettertable.go).
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	letterTable := flag.Bool("letter-table", false, "print the Rust letter table and exit")
	flag.Parse()
	if *letterTable {
		writeLetterTable(os.Stdout)
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for in.Scan() {
		fields := strings.Split(in.Text(), "\t")
		args := make([]string, 0, len(fields)-1)
		bad := false
		for _, f := range fields[1:] {
			b, err := hex.DecodeString(f)
			if err != nil {
				bad = true
				break
			}
			args = append(args, string(b))
		}
		if bad {
			fmt.Fprintln(out, "bad-input")
			continue
		}
		fmt.Fprintln(out, answer(fields[0], args))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "xmod-oracle:", err)
		os.Exit(1)
	}
}

func value(s string) string { return "=" + hex.EncodeToString([]byte(s)) }

func errOr(err error) string {
	if err != nil {
		return "err:" + hex.EncodeToString([]byte(err.Error()))
	}
	return "ok"
}

func valueOrErr(s string, err error) string {
	if err != nil {
		return errOr(err)
	}
	return value(s)
}

func answer(op string, a []string) (result string) {
	defer func() {
		if recover() != nil {
			result = "panic"
		}
	}()
	arg := func(i int) string {
		if i < len(a) {
			return a[i]
		}
		return ""
	}
	switch op {
	case "CheckPath":
		return errOr(module.CheckPath(arg(0)))
	case "CheckImportPath":
		return errOr(module.CheckImportPath(arg(0)))
	case "CheckFilePath":
		return errOr(module.CheckFilePath(arg(0)))
	case "Check":
		return errOr(module.Check(arg(0), arg(1)))
	case "EscapePath":
		return valueOrErr(module.EscapePath(arg(0)))
	case "UnescapePath":
		return valueOrErr(module.UnescapePath(arg(0)))
	case "EscapeVersion":
		return valueOrErr(module.EscapeVersion(arg(0)))
	case "UnescapeVersion":
		return valueOrErr(module.UnescapeVersion(arg(0)))
	case "SplitPathVersion":
		prefix, major, ok := module.SplitPathVersion(arg(0))
		if !ok {
			return "err:"
		}
		return value(prefix) + " " + value(major)
	case "CheckPathMajor":
		return errOr(module.CheckPathMajor(arg(0), arg(1)))
	case "MatchPathMajor":
		return strconv.FormatBool(module.MatchPathMajor(arg(0), arg(1)))
	case "PathMajorPrefix":
		return value(module.PathMajorPrefix(arg(0)))
	case "CanonicalVersion":
		return value(module.CanonicalVersion(arg(0)))
	case "IsValid":
		return strconv.FormatBool(semver.IsValid(arg(0)))
	case "Canonical":
		return value(semver.Canonical(arg(0)))
	case "Major":
		return value(semver.Major(arg(0)))
	case "MajorMinor":
		return value(semver.MajorMinor(arg(0)))
	case "Prerelease":
		return value(semver.Prerelease(arg(0)))
	case "Build":
		return value(semver.Build(arg(0)))
	case "Compare":
		return strconv.Itoa(semver.Compare(arg(0), arg(1)))
	case "Max":
		return value(semver.Max(arg(0), arg(1)))
	case "Sort":
		list := append([]string(nil), a...)
		semver.Sort(list)
		vals := make([]string, len(list))
		for i, s := range list {
			vals[i] = value(s)
		}
		return strings.Join(vals, " ")
	case "IsPseudoVersion":
		return strconv.FormatBool(module.IsPseudoVersion(arg(0)))
	case "IsZeroPseudoVersion":
		return strconv.FormatBool(module.IsZeroPseudoVersion(arg(0)))
	case "PseudoVersionBase":
		return valueOrErr(module.PseudoVersionBase(arg(0)))
	case "PseudoVersionRev":
		return valueOrErr(module.PseudoVersionRev(arg(0)))
	case "PseudoVersionTime":
		t, err := module.PseudoVersionTime(arg(0))
		if err != nil {
			return errOr(err)
		}
		return value(t.UTC().Format(module.PseudoVersionTimestampFormat))
	case "PseudoVersion":
		// args: major, older, unix seconds (decimal), rev
		secs, err := strconv.ParseInt(arg(2), 10, 64)
		if err != nil {
			return "bad-input"
		}
		return value(module.PseudoVersion(arg(0), arg(1), time.Unix(secs, 0), arg(3)))
	case "FormatPseudoTime":
		secs, err := strconv.ParseInt(arg(0), 10, 64)
		if err != nil {
			return "bad-input"
		}
		return value(time.Unix(secs, 0).UTC().Format(module.PseudoVersionTimestampFormat))
	case "ParsePseudoTime":
		t, err := time.Parse(module.PseudoVersionTimestampFormat, arg(0))
		if err != nil {
			return errOr(err)
		}
		return value(strconv.FormatInt(t.Unix(), 10))
	case "MatchPrefixPatterns":
		return strconv.FormatBool(module.MatchPrefixPatterns(arg(0), arg(1)))
	}
	return "bad-op"
}
