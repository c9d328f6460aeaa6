package security

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// numKind says whether a scalar is a number, and which kind.
type numKind uint8

const (
	numNone numKind = iota
	numInt
	numFloat
)

// scalar is a value prepared for comparison. Text of a Go number is made
// only when it is compared with text, so numeric checks do not allocate.
type scalar struct {
	num numKind
	i   int64
	f   float64
	s   string
	raw any // the original value when s has not been made yet
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return true
	}
	return false
}

func toScalar(v any) scalar {
	switch x := v.(type) {
	case string:
		return parseText(x)
	case bool:
		if x {
			return scalar{s: "true"}
		}
		return scalar{s: "false"}
	case int:
		return intScalar(int64(x), v)
	case int8:
		return intScalar(int64(x), v)
	case int16:
		return intScalar(int64(x), v)
	case int32:
		return intScalar(int64(x), v)
	case int64:
		return intScalar(x, v)
	case uint:
		return uintScalar(uint64(x), v)
	case uint8:
		return intScalar(int64(x), v)
	case uint16:
		return intScalar(int64(x), v)
	case uint32:
		return intScalar(int64(x), v)
	case uint64:
		return uintScalar(x, v)
	case float32:
		return floatScalar(float64(x), v)
	case float64:
		return floatScalar(x, v)
	}
	return scalar{s: fmt.Sprint(v)}
}

func intScalar(i int64, raw any) scalar { return scalar{num: numInt, i: i, f: float64(i), raw: raw} }

func uintScalar(u uint64, raw any) scalar {
	if u > math.MaxInt64 {
		return scalar{num: numFloat, f: float64(u), raw: raw}
	}
	return intScalar(int64(u), raw)
}

func floatScalar(f float64, raw any) scalar {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return scalar{raw: raw}
	}
	return scalar{num: numFloat, f: f, raw: raw}
}

// parseText makes a scalar of text, recognising finite decimal numbers. The
// cheap character check keeps ordinary words away from strconv, whose
// errors allocate.
func parseText(s string) scalar {
	if !looksNumeric(s) {
		return scalar{s: s}
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return scalar{num: numInt, i: i, f: float64(i), s: s}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return scalar{num: numFloat, f: f, s: s}
	}
	return scalar{s: s}
}

func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digit
}

func (s scalar) text() string {
	if s.raw != nil {
		if s.num == numInt {
			return strconv.FormatInt(s.i, 10)
		}
		switch x := s.raw.(type) {
		case float32:
			return strconv.FormatFloat(float64(x), 'g', -1, 32)
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return fmt.Sprint(s.raw)
	}
	return s.s
}

// compare orders two scalars: numerically when both are numbers, by text
// otherwise.
func compare(a, b scalar) int {
	if a.num != numNone && b.num != numNone {
		if a.num == numInt && b.num == numInt {
			return cmpOrdered(a.i, b.i)
		}
		return cmpOrdered(a.f, b.f)
	}
	return strings.Compare(a.text(), b.text())
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
