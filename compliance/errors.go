package compliance

import "errors"

// ErrNothingToAudit is returned by Run when neither the collect nor the
// clean folder has a manifest.json, so there is no corpus to audit.
var ErrNothingToAudit = errors.New("compliance: no collect or clean manifest to audit")
