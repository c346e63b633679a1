package miner

// Dates and times inside messages are one value: "Fri Jul  1 07:57:30 2005"
// must not leave "Fri" and "Jul" as constants that split one event into a
// template per weekday. dateAt recognises the common forms:
//
//	ctime      Fri Jul  1 07:57:30 2005      (weekday optional, year optional)
//	syslog     Jul  1 07:57:30
//	RFC 1123   Fri, 01 Jul 2005 07:57:30 GMT
//	ISO 8601   2005-07-01 07:57:30,123  2005-07-01T07:57:30.5+02:00  2005/07/01 07:57:30
//	CLF        01/Jul/2005:07:57:30 +0200
//
// optionally inside one opening bracket ("[Sun Dec 04 04:47:44 2005]").

// dateAt returns the end of a date starting at line[i] (after at most one
// opening bracket) and the number of bracket bytes before it, or 0, 0.
func dateAt(line string, i int) (end, pre int) {
	if i < len(line) && (line[i] == '[' || line[i] == '(') {
		pre = 1
	}
	j := i + pre
	if j >= len(line) {
		return 0, 0
	}
	var e int
	switch c := line[j]; {
	case isUpper(c):
		// Cheap rejection first: every name is at least three letters,
		// the second lower case.
		if j+3 < len(line) && isLower(line[j+1]) && isLower(line[j+2]) {
			e = namedDate(line, j)
		}
	case isDigit(c):
		// yyyy-, yyyy/ or d/, dd/
		if j+4 < len(line) && (line[j+4] == '-' || line[j+4] == '/' || line[j+1] == '/' || line[j+2] == '/') {
			e = numericDate(line, j)
		}
	}
	if e <= 0 {
		return 0, 0
	}
	return e, pre
}

func word3(line string, j int) (string, int) {
	k := j
	for k < len(line) && (isLower(line[k]) || isUpper(line[k])) {
		k++
	}
	return line[j:k], k
}

func isWeekday(w string) bool {
	switch w {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday":
		return true
	}
	return false
}

func isMonth(w string) bool {
	switch w {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December":
		return true
	}
	return false
}

func skipBlanks(line string, k int) int {
	for k < len(line) && line[k] == ' ' {
		k++
	}
	return k
}

// digits returns the end of a run of between lo and hi digits at k, or -1.
func digits(line string, k, lo, hi int) int {
	e := k
	for e < len(line) && isDigit(line[e]) && e-k < hi {
		e++
	}
	if e-k < lo || (e < len(line) && isDigit(line[e])) {
		return -1
	}
	return e
}

// clock returns the end of HH:MM[:SS[.frac]] at k, or -1.
func clock(line string, k int) int {
	e := digits(line, k, 1, 2)
	if e < 0 || e >= len(line) || line[e] != ':' {
		return -1
	}
	e = digits(line, e+1, 2, 2)
	if e < 0 {
		return -1
	}
	if e < len(line) && line[e] == ':' {
		if f := digits(line, e+1, 2, 2); f > 0 {
			e = f
		}
	}
	if e+1 < len(line) && (line[e] == '.' || line[e] == ',') && isDigit(line[e+1]) {
		e = digits(line, e+1, 1, 9)
		if e < 0 {
			return -1
		}
	}
	return e
}

// zone returns the end of a time zone at k (Z, +hh:mm, +hhmm, or an
// upper-case abbreviation such as UTC, EDT after a blank), or k.
func zone(line string, k int, blank bool) int {
	if k < len(line) && line[k] == 'Z' && !blank {
		return k + 1
	}
	if k < len(line) && (line[k] == '+' || line[k] == '-') {
		if e := digits(line, k+1, 4, 4); e > 0 {
			return e
		}
		if e := digits(line, k+1, 2, 2); e > 0 && e < len(line) && line[e] == ':' {
			if f := digits(line, e+1, 2, 2); f > 0 {
				return f
			}
		}
		return k
	}
	if blank {
		e := k
		for e < len(line) && isUpper(line[e]) && e-k < 5 {
			e++
		}
		if n := e - k; n >= 3 && n <= 4 && (e == len(line) || !isAlnum(line[e])) {
			switch line[e-1] {
			case 'T', 'C': // UTC, GMT, EDT, CEST: abbreviations end in T or C
				return e
			}
		}
	}
	return k
}

// timeTail extends a date that ended at k with " HH:MM:SS", a zone and a
// four-digit year, when they follow.
func timeTail(line string, k int, year bool) int {
	if k+1 < len(line) && line[k] == ' ' {
		if e := clock(line, skipBlanks(line, k)); e > 0 {
			k = e
			k = zoneOrYear(line, k, year)
		}
	}
	return k
}

func zoneOrYear(line string, k int, year bool) int {
	if z := zone(line, k, false); z > k {
		return z
	}
	if k < len(line) && line[k] == ' ' {
		b := skipBlanks(line, k)
		if z := zone(line, b, true); z > b {
			k = z
		}
	}
	if year && k < len(line) && line[k] == ' ' {
		b := skipBlanks(line, k)
		if e := digits(line, b, 4, 4); e > 0 {
			k = e
		}
	}
	return k
}

// namedDate handles the forms that start with a weekday or month name.
func namedDate(line string, j int) int {
	w, k := word3(line, j)
	if isWeekday(w) {
		if k < len(line) && line[k] == ',' {
			k++
		}
		b := skipBlanks(line, k)
		if b == k {
			return -1
		}
		if d := digits(line, b, 1, 2); d > 0 { // RFC 1123: Fri, 01 Jul 2005 ...
			m, e := word3(line, skipBlanks(line, d))
			if !isMonth(m) {
				return -1
			}
			y := digits(line, skipBlanks(line, e), 4, 4)
			if y < 0 {
				return -1
			}
			return timeTail(line, y, false)
		}
		w, k = word3(line, b)
		j = b
	}
	if !isMonth(w) || k >= len(line) || line[k] != ' ' {
		return -1
	}
	d := digits(line, skipBlanks(line, k), 1, 2)
	if d < 0 {
		return -1
	}
	k = d
	if k < len(line) && line[k] == ',' && k+1 < len(line) && line[k+1] == ' ' { // Jul 1, 2005
		if y := digits(line, skipBlanks(line, k+1), 4, 4); y > 0 {
			return timeTail(line, y, false)
		}
	}
	if k+1 < len(line) && line[k] == ' ' {
		b := skipBlanks(line, k)
		if e := clock(line, b); e > 0 {
			return zoneOrYear(line, e, true)
		}
		if y := digits(line, b, 4, 4); y > 0 {
			return timeTail(line, y, false)
		}
	}
	return k
}

// numericDate handles the forms that start with a digit.
func numericDate(line string, j int) int {
	// yyyy-mm-dd, yyyy/mm/dd
	if y := digits(line, j, 4, 4); y > 0 && y < len(line) && (line[y] == '-' || line[y] == '/') {
		sep := line[y]
		m := digits(line, y+1, 1, 2)
		if m < 0 || m >= len(line) || line[m] != sep {
			return -1
		}
		d := digits(line, m+1, 1, 2)
		if d < 0 {
			return -1
		}
		if d < len(line) && line[d] == 'T' {
			if e := clock(line, d+1); e > 0 {
				return zoneOrYear(line, e, false)
			}
			return -1
		}
		return timeTail(line, d, false)
	}
	// dd/Mon/yyyy[:HH:MM:SS [+zzzz]]
	if d := digits(line, j, 1, 2); d > 0 && d < len(line) && line[d] == '/' {
		m, k := word3(line, d+1)
		if !isMonth(m) || k >= len(line) || line[k] != '/' {
			return -1
		}
		y := digits(line, k+1, 4, 4)
		if y < 0 {
			return -1
		}
		if y < len(line) && line[y] == ':' {
			if e := clock(line, y+1); e > 0 {
				return zoneOrYear(line, e, false)
			}
		}
		return y
	}
	return -1
}
