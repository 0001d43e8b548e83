package acli

// lifecycleCommands are the configuration lifecycle commands (save-config,
// activate-config, versions, backups), available wherever show is.
func (s *Shell) lifecycleCommands() []*command { return nil }

// moreShowTopics are the show topics of the lifecycle (running-config, ...).
func (s *Shell) moreShowTopics() []showTopic { return nil }
