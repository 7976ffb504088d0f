package corpus

import "fmt"

// Check returns an error wrapping ErrCountMismatch unless In equals Kept plus
// Rejected and no count is negative. Every stage calls it before writing its
// manifest.
func (c Counts) Check() error {
	if c.In < 0 || c.Kept < 0 || c.Rejected < 0 {
		return fmt.Errorf("%w: negative count in in=%d kept=%d rejected=%d", ErrCountMismatch, c.In, c.Kept, c.Rejected)
	}
	if c.In != c.Kept+c.Rejected {
		return fmt.Errorf("%w: in=%d but kept=%d + rejected=%d = %d", ErrCountMismatch, c.In, c.Kept, c.Rejected, c.Kept+c.Rejected)
	}
	return nil
}
