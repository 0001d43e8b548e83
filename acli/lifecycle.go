package acli

// The configuration lifecycle: the commands that save, activate, roll back,
// delete and back up configurations, and show saved and running ones. This
// file lists them; each family has a file of its own:
//
//   - lifecycle_activate.go: save-config, activate-config [confirmed] and
//     the rollback of a confirmed activation that is not confirmed in time;
//   - lifecycle_runtime.go: telling the runtime daemon (acli serve) that the
//     running version changed, and what it answers;
//   - lifecycle_rollback.go: rollback-config, delete-config, version words;
//   - lifecycle_backup.go: backup-config, restore-backup-config,
//     delete-backup-config, show backup-config;
//   - lifecycle_show.go: show configuration and show running-config,
//     display-*-cfg-version, version-limit, show versions;
//   - lifecycle_diff.go and lifecycle_script.go: show configuration's diff
//     and script.
//
// Editing, saved and running configurations live in the store (see
// model/store/versions.go): save copies editing into a new version, activate
// moves the running pointer; each is one transaction.

import (
	"fmt"
	"time"
)

const dateLayout = "2006-01-02 15:04:05"

// lifecycleCommands are the configuration lifecycle commands (save-config,
// activate-config, versions, backups), available wherever show is.
func (s *Shell) lifecycleCommands() []*command {
	return []*command{
		{name: "save-config", superuser: true, args: saveArgs, run: (*Shell).saveConfig,
			help: "verify and save the editing configuration as a new version: [comment TEXT]"},
		{name: "activate-config", superuser: true, args: activateArgs, run: (*Shell).activateConfig,
			help: "make the saved configuration running: [confirmed MINUTES] rolls back unless confirmed"},
		{name: "rollback-config", superuser: true, args: rollbackArgs, run: (*Shell).rollbackConfig,
			help: "make a saved version the editing configuration: VERSION, saved or running"},
		{name: "delete-config", superuser: true, args: forceArgs, run: (*Shell).deleteConfig,
			help: "delete every element of the editing configuration (asks first; --force does not)"},
		{name: "backup-config", superuser: true, args: backupNameArgs(false), run: (*Shell).backupConfig,
			help: "copy the whole database (versions included) to a named backup: NAME"},
		{name: "restore-backup-config", superuser: true, args: backupNameArgs(true), run: (*Shell).restoreBackup,
			help: "replace the whole database with a named backup: NAME"},
		{name: "delete-backup-config", superuser: true, args: backupNameArgs(true), run: (*Shell).deleteBackup,
			help: "delete a named backup: NAME"},
		{name: "display-current-cfg-version", run: (*Shell).displayCurrent,
			help: "the version of the saved (current) configuration"},
		{name: "display-running-cfg-version", run: (*Shell).displayRunning,
			help: "the version of the running configuration"},
		{name: "version-limit", args: limitArgs, run: (*Shell).versionLimit,
			help: "show or set how many saved versions are kept: [N]"},
	}
}

// moreShowTopics are the show topics of the lifecycle.
func (s *Shell) moreShowTopics() []showTopic {
	return []showTopic{
		{"running-config", "the running configuration: [element [key]] [short] | script",
			configTopicArgs(scriptWord), (*Shell).showRunning},
		{"versions", "the saved versions kept, with who saved them, when and why", nil, (*Shell).showVersions},
		{"backup-config", "the backups made by backup-config", nil, (*Shell).showBackups},
	}
}

func (s *Shell) now() time.Time { return s.opt.Now().UTC().Truncate(time.Second) }

func versionName(n int) string {
	if n == 0 {
		return "no running configuration"
	}
	return fmt.Sprintf("version %d", n)
}

func versionOrNone(n int) string {
	if n == 0 {
		return "(none)"
	}
	return fmt.Sprintf("version %d", n)
}
