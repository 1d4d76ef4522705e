package e2e

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
