package acli

// Backups: backup-config, restore-backup-config, delete-backup-config and
// show backup-config, over the store's backup files (model/store/backup.go).

import (
	"fmt"
	"strconv"

	"github.com/acli-project/acli/model/store"
)

func backupNameArgs(existing bool) func(s *Shell, prev []Token) []cand {
	return func(s *Shell, prev []Token) []cand {
		if len(prev) > 0 {
			return nil
		}
		if !existing {
			return []cand{{"<name>", "letters, digits, '.', '_' and '-'"}}
		}
		bs, _ := s.opt.Store.ListBackups()
		var out []cand
		for _, b := range bs {
			if b.Err == nil {
				out = append(out, cand{b.Name, "taken " + b.Time.Format(dateLayout) + " by " + b.User})
			}
		}
		return out
	}
}

func oneName(cmd string, args []Token) (string, error) {
	if len(args) != 1 || args[0].List {
		return "", fmt.Errorf("%s takes one backup name", cmd)
	}
	return args[0].Text, nil
}

// backupConfig is backup-config NAME: a consistent copy of the whole
// database in the backups directory beside it.
func (s *Shell) backupConfig(args []Token) error {
	name, err := oneName("backup-config", args)
	if err != nil {
		return err
	}
	info := store.BackupInfo{Name: name, User: s.opt.User, Time: s.now()}
	if err := s.be.read(func(tx *store.Tx) error { return tx.WriteBackup(s.opt.Store, info) }); err != nil {
		return fmt.Errorf("backup-config: %w", err)
	}
	s.printf("Backup %s written to backups/%s.db beside the database\n", name, name)
	return nil
}

// restoreBackup is restore-backup-config NAME: the backup replaces the whole
// database, in one transaction, after checking that it is a valid acli
// database.
func (s *Shell) restoreBackup(args []Token) error {
	name, err := oneName("restore-backup-config", args)
	if err != nil {
		return err
	}
	var info store.BackupInfo
	changed := false
	err = s.be.write(func(tx *store.Tx) (err error) {
		prev := tx.RunningVersion()
		if info, err = tx.RestoreBackup(s.opt.Store, name); err != nil {
			return err
		}
		// The backup may come from another database: tell the runtime
		// whenever something runs, even under the same number.
		if changed = tx.RunningVersion() != 0 || prev != 0; changed {
			return tx.MarkRuntimeApply(tx.RunningVersion(), prev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore-backup-config: %w; nothing was changed", err)
	}
	s.printf("Restored backup %s, taken %s UTC by %s: saved %s, running %s\n",
		name, info.Time.Format(dateLayout), info.User, versionOrNone(info.Saved), versionOrNone(info.Running))
	if changed {
		return s.tellRuntime(activation{cmd: "restore-backup-config"}, info.Running)
	}
	return nil
}

func (s *Shell) deleteBackup(args []Token) error {
	name, err := oneName("delete-backup-config", args)
	if err != nil {
		return err
	}
	if err := s.opt.Store.DeleteBackup(name); err != nil {
		return fmt.Errorf("delete-backup-config: %w", err)
	}
	s.printf("Backup %s deleted\n", name)
	return nil
}

func (s *Shell) showBackups(args []Token) error {
	if err := noArgs("show backup-config", args); err != nil {
		return err
	}
	bs, err := s.opt.Store.ListBackups()
	if err != nil {
		return fmt.Errorf("show backup-config: %w", err)
	}
	if len(bs) == 0 {
		s.printf("%% no backups in %s (backup-config NAME makes one)\n", s.opt.Store.BackupDir())
		return nil
	}
	rows := [][]string{{"name", "taken at (UTC)", "by", "saved", "running"}}
	var bad []string
	for _, b := range bs {
		if b.Err != nil {
			bad = append(bad, fmt.Sprintf("%s: not a valid backup: %v", b.Name, b.Err))
			continue
		}
		rows = append(rows, []string{b.Name, b.Time.Format(dateLayout), b.User, versionNum(b.Saved), versionNum(b.Running)})
	}
	s.printf("%s", table(rows, 3, 4))
	for _, l := range bad {
		s.printf("%% %s\n", l)
	}
	return nil
}

func versionNum(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
