package agentsctp

import (
	"os"
	"testing"

	"github.com/acli-project/acli/runtime/internal/sctptest"
)

func TestMain(m *testing.M) { os.Exit(sctptest.Main(m)) }
