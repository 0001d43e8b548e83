package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acli-project/acli/model/store"
)

// etcdFlags say where on etcd the configuration is, named as etcdctl
// names its flags.
type etcdFlags struct {
	endpoints, prefix string
	cacert, cert, key string
	user, password    string
	backups           string
	timeout           time.Duration
}

// etcdFromEnv returns the flags' defaults: the environment's.
func etcdFromEnv() etcdFlags {
	e := etcdFlags{endpoints: os.Getenv("ACLI_ETCD"), prefix: os.Getenv("ACLI_ETCD_PREFIX"),
		password: os.Getenv("ACLI_ETCD_PASSWORD"), backups: os.Getenv("ACLI_BACKUP_DIR"), timeout: store.DefaultEtcdTimeout}
	if e.prefix == "" {
		e.prefix = store.DefaultEtcdPrefix
	}
	return e
}

// register adds the flags to fs, with e's values as defaults.
func (e *etcdFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.endpoints, "etcd", e.endpoints, "keep the configuration on etcd: comma-separated `endpoints` HOST:PORT (default $ACLI_ETCD); instead of --db")
	fs.StringVar(&e.prefix, "etcd-prefix", e.prefix, "etcd key `prefix` of the configuration (default $ACLI_ETCD_PREFIX when set)")
	fs.StringVar(&e.cacert, "cacert", e.cacert, "etcd: verify the servers' certificates with this CA bundle `file`")
	fs.StringVar(&e.cert, "cert", e.cert, "etcd: TLS client certificate `file`")
	fs.StringVar(&e.key, "key", e.key, "etcd: TLS client key `file`")
	fs.StringVar(&e.user, "user", e.user, "etcd: `username[:password]` for authentication")
	fs.StringVar(&e.password, "password", e.password, "etcd: `password` of --user (default $ACLI_ETCD_PASSWORD)")
	fs.StringVar(&e.backups, "backup-dir", e.backups, "etcd: `directory` of backup-config's files (default $ACLI_BACKUP_DIR, else $XDG_STATE_HOME/acli/etcd-backups/PREFIX)")
	fs.DurationVar(&e.timeout, "command-timeout", e.timeout, "etcd: how long each request may take (`duration`)")
}

// config turns the flags into a store.Etcd; backups go to stateDir.
func (e *etcdFlags) config(stateDir string) store.Etcd {
	user, password := e.user, e.password
	if u, p, ok := strings.Cut(user, ":"); ok && password == "" {
		user, password = u, p
	}
	var eps []string
	for _, ep := range strings.Split(e.endpoints, ",") {
		eps = append(eps, strings.TrimSpace(ep))
	}
	backups := e.backups
	if backups == "" {
		backups = filepath.Join(stateDir, "etcd-backups", strings.ReplaceAll(strings.Trim(e.prefix, "/"), "/", "_"))
	}
	return store.Etcd{Endpoints: eps, Prefix: e.prefix, CACert: e.cacert, Cert: e.cert, Key: e.key,
		User: user, Password: password, Timeout: e.timeout,
		BackupDir: backups}
}

// runEtcd is acli with --etcd: the shell, a script, one command or --init
// on the configuration under the etcd prefix.
func runEtcd(fs *flag.FlagSet, ec *etcdFlags, initCfg bool, prompt string, cont bool, stdin io.Reader, stdout, stderr io.Writer) int {
	p, err := store.DefaultPath()
	if err != nil {
		fmt.Fprintf(stderr, "acli: %v\n", err)
		return 1
	}
	stateDir := filepath.Dir(p)
	st, err := store.NewEtcd(ec.config(stateDir))
	if err != nil {
		fmt.Fprintf(stderr, "acli: %v\n", err)
		return 2
	}
	defer st.Close()
	// The control socket of a runtime serving this prefix on this machine
	// is named after it in the state directory.
	st.Path = filepath.Join(stateDir, "etcd-"+strings.ReplaceAll(strings.Trim(ec.prefix, "/"), "/", "_"))
	switch {
	case initCfg:
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "acli: --init takes no command (got %q): it creates an empty configuration and exits\n", fs.Arg(0))
			return 2
		}
		ok, err := st.Exists()
		if err != nil {
			fmt.Fprintf(stderr, "acli --init: %v\n", err)
			return 1
		}
		if ok {
			fmt.Fprintf(stderr, "acli --init: a configuration already exists at %s; it was left as it is\n", st.Location())
			return 1
		}
		if err := st.Update(func(*store.Tx) error { return nil }); err != nil {
			fmt.Fprintf(stderr, "acli --init: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Created an empty configuration at %s\n", st.Location())
		return 0
	case fs.NArg() > 0:
		// As with --db: a one-shot command does not create a
		// configuration under a mistyped prefix.
		ok, err := st.Exists()
		if err != nil {
			fmt.Fprintf(stderr, "acli: %v\n", err)
			return 1
		}
		if !ok {
			fmt.Fprintf(stderr, "acli: no configuration at %s (acli --etcd %s --etcd-prefix %s --init creates an empty one; the shell or a script creates it too)\n",
				st.Location(), ec.endpoints, ec.prefix)
			return 1
		}
		if fs.Arg(0) == "serve" {
			if err := os.MkdirAll(stateDir, 0o700); err != nil {
				fmt.Fprintf(stderr, "acli serve: %v\n", err)
				return 1
			}
			return serve(st.Path, st, fs.Args()[1:], stderr)
		}
	}
	return runShell(st, stateDir, fs.Args(), prompt, cont, stdin, stdout, stderr)
}

// migrate is acli migrate: it copies a whole configuration, every version
// included, between a database file and etcd:
//
//	acli migrate --from-db FILE --etcd ENDPOINTS [--etcd-prefix P]   file → etcd
//	acli migrate --to-db FILE --etcd ENDPOINTS [--etcd-prefix P]     etcd → file
//
// The destination must hold no configuration yet.
func migrate(ec etcdFlags, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("acli migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from-db", "", "copy the database `file` to etcd")
	to := fs.String("to-db", "", "copy etcd's configuration to a new database `file`")
	ec.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: acli migrate (--from-db FILE | --to-db FILE) --etcd ENDPOINTS [--etcd-prefix P]\n\nCopies a whole configuration, every version included, between a database file and etcd;\nthe destination must hold no configuration yet.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "acli migrate: unexpected argument %q\n", fs.Arg(0))
		return 2
	case (*from == "") == (*to == ""):
		fmt.Fprintf(stderr, "acli migrate: give one of --from-db FILE (file to etcd) and --to-db FILE (etcd to file)\n")
		return 2
	case ec.endpoints == "":
		fmt.Fprintf(stderr, "acli migrate: --etcd ENDPOINTS (or $ACLI_ETCD) names the etcd side\n")
		return 2
	}
	p, err := store.DefaultPath()
	if err != nil {
		fmt.Fprintf(stderr, "acli migrate: %v\n", err)
		return 1
	}
	et, err := store.NewEtcd(ec.config(filepath.Dir(p)))
	if err != nil {
		fmt.Fprintf(stderr, "acli migrate: %v\n", err)
		return 2
	}
	defer et.Close()
	src, dst := et, store.New(*to)
	if *from != "" {
		if err := mustExist(*from); err != nil {
			fmt.Fprintf(stderr, "acli migrate: %v\n", err)
			return 1
		}
		src, dst = store.New(*from), et
	} else if ok, err := et.Exists(); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("no configuration at %s", et.Location())
		}
		fmt.Fprintf(stderr, "acli migrate: %v\n", err)
		return 1
	}
	if err := src.CopyTo(dst); err != nil {
		fmt.Fprintf(stderr, "acli migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Copied the configuration at %s, every version included, to %s\n", src.Location(), dst.Location())
	return 0
}
