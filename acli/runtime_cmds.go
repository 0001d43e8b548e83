package acli

// runtimeShowTopics are the show topics answered by the runtime daemon
// (sctp info, sctp options, sip-ports) over its control socket.
func (s *Shell) runtimeShowTopics() []showTopic { return nil }
