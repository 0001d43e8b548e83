package agentsctp

import (
	"os"
	"testing"

	"github.com/acli-project/acli/internal/uml"
)

func TestMain(m *testing.M) { os.Exit(uml.Main(m)) }
