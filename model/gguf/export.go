package gguf

import (
	"fmt"
	"strings"
)

// ParseFileType returns the tensor type named by s: "f32", "f16" or "q8_0"
// (case-insensitive). It returns an error wrapping ErrUnsupported for any
// other name.
func ParseFileType(s string) (GGMLType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f32":
		return GGMLTypeF32, nil
	case "f16":
		return GGMLTypeF16, nil
	case "q8_0":
		return GGMLTypeQ8_0, nil
	}
	return 0, fmt.Errorf("%w: file type %q (want f32, f16 or q8_0)", ErrUnsupported, s)
}

// Export converts the Hugging Face model folder modelDir to a GGUF file at
// outPath with matrices of type typ.
func Export(modelDir, outPath string, typ GGMLType) error {
	return fmt.Errorf("%w: exporting %s: not implemented yet", ErrUnsupported, modelDir)
}
