package mwconfig

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/VKCOM/php-parser/pkg/ast"
	"github.com/VKCOM/php-parser/pkg/conf"
	phperrors "github.com/VKCOM/php-parser/pkg/errors"
	"github.com/VKCOM/php-parser/pkg/parser"
	"github.com/VKCOM/php-parser/pkg/version"
)

// placeholder stands in for a value that cannot be computed statically (an
// unknown constant, a closure, a function call). It is exported as a plain
// string, so the same placeholder on both sides still compares equal.
type placeholder string

// phpFile is the statically evaluated content of one PHP config file.
type phpFile struct {
	ret      any  // value of the top-level `return`, or of the entry function's
	returned bool // a return statement was reached
}

// evalPHPFile parses src and evaluates it. With entryFunc set, the value is
// the return value of that function (InitialiseSettings-labs.php wraps its
// array in wmfGetOverrideSettings()); otherwise the file's top-level return.
// Syntax errors become warnings and whatever the parser recovered is still
// evaluated, so one bad line does not hide the rest of the file.
func evalPHPFile(src []byte, file, entryFunc string, sink *warnSink) phpFile {
	var perrs []*phperrors.Error
	root, err := parser.Parse(src, conf.Config{
		Version:          &version.Version{Major: 8, Minor: 1},
		ErrorHandlerFunc: func(e *phperrors.Error) { perrs = append(perrs, e) },
	})
	for _, e := range perrs {
		line := 0
		if e.Pos != nil {
			line = e.Pos.StartLine
		}
		sink.add(pos{file, line}, "PHP syntax error: %s (values from this file may be incomplete)", e.Msg)
	}
	if err != nil || root == nil {
		sink.add(pos{file, 0}, "cannot parse PHP: %v", err)
		return phpFile{}
	}
	ev := &evaluator{
		file:  file,
		uses:  map[string]string{},
		funcs: map[string]*ast.StmtFunction{},
		vars:  map[string]any{},
		sink:  sink,
	}
	r, ok := root.(*ast.Root)
	if !ok {
		sink.add(pos{file, 0}, "unexpected PHP root node %T", root)
		return phpFile{}
	}
	ret, returned := ev.stmts(r.Stmts)
	if entryFunc == "" {
		return phpFile{ret: ret, returned: returned}
	}
	fn := ev.funcs[strings.ToLower(entryFunc)]
	if fn == nil {
		sink.add(pos{file, 0}, "function %s() not found", entryFunc)
		return phpFile{}
	}
	fe := &evaluator{file: file, ns: ev.ns, uses: ev.uses, funcs: ev.funcs, vars: map[string]any{}, sink: sink}
	ret, returned = fe.stmts(fn.Stmts)
	return phpFile{ret: ret, returned: returned}
}

type evaluator struct {
	file  string
	ns    string
	uses  map[string]string // lower-case alias -> fully qualified class name
	funcs map[string]*ast.StmtFunction
	vars  map[string]any
	sink  *warnSink
}

func (ev *evaluator) at(n ast.Vertex) pos {
	if n != nil {
		if p := n.GetPosition(); p != nil {
			return pos{ev.file, p.StartLine}
		}
	}
	return pos{ev.file, 0}
}

func (ev *evaluator) warn(n ast.Vertex, format string, args ...any) {
	ev.sink.add(ev.at(n), format, args...)
}

// stmts runs a statement list and stops at the first return.
func (ev *evaluator) stmts(list []ast.Vertex) (any, bool) {
	for _, s := range list {
		switch n := s.(type) {
		case *ast.StmtReturn:
			if n.Expr == nil {
				return nil, true
			}
			return ev.expr(n.Expr), true
		case *ast.StmtExpression:
			ev.statementExpr(n.Expr)
		case *ast.StmtUnset:
			for _, v := range n.Vars {
				if name, ok := varName(v); ok {
					delete(ev.vars, name)
				} else {
					ev.warn(v, "unsupported unset() target %s", nodeKind(v))
				}
			}
		case *ast.StmtUseList:
			ev.useList(n.Uses, "")
		case *ast.StmtGroupUseList:
			ev.useList(n.Uses, nameString(n.Prefix))
		case *ast.StmtFunction:
			ev.funcs[strings.ToLower(identString(n.Name))] = n
		case *ast.StmtNamespace:
			ev.ns = nameString(n.Name)
			if n.Stmts != nil {
				if ret, ok := ev.stmts(n.Stmts); ok {
					return ret, true
				}
			}
		case *ast.StmtStmtList:
			if ret, ok := ev.stmts(n.Stmts); ok {
				return ret, true
			}
		case *ast.StmtNop, *ast.StmtInlineHtml, *ast.StmtDeclare:
			// No effect on the values.
		default:
			ev.warn(s, "unsupported statement %s skipped", nodeKind(s))
		}
	}
	return nil, false
}

func (ev *evaluator) useList(uses []ast.Vertex, prefix string) {
	for _, u := range uses {
		use, ok := u.(*ast.StmtUse)
		if !ok {
			continue
		}
		full := nameString(use.Use)
		if prefix != "" {
			full = prefix + `\` + full
		}
		alias := ""
		if use.Alias != nil {
			alias = identString(use.Alias)
		} else {
			alias = full[strings.LastIndex(full, `\`)+1:]
		}
		ev.uses[strings.ToLower(alias)] = full
	}
}

func (ev *evaluator) statementExpr(e ast.Vertex) {
	switch n := e.(type) {
	case *ast.ExprAssign:
		ev.assign(n.Var, ev.expr(n.Expr), n)
	case *ast.ExprAssignPlus:
		old := ev.expr(n.Var)
		ev.assign(n.Var, ev.arith(n, "+", old, ev.expr(n.Expr)), n)
	case *ast.ExprAssignConcat:
		old, add := ev.expr(n.Var), ev.expr(n.Expr)
		ev.assign(n.Var, placeholderOr(old, add, func() any {
			return ev.str(n, old) + ev.str(n, add)
		}), n)
	default:
		ev.warn(e, "unsupported expression statement %s skipped", nodeKind(e))
	}
}

// assign handles `$v = x`, `$v['k'] = x`, `$v[] = x` and nested dims,
// copying arrays on write so values already shared elsewhere never change.
func (ev *evaluator) assign(target ast.Vertex, val any, at ast.Vertex) {
	if name, ok := varName(target); ok {
		ev.vars[name] = val
		return
	}
	path, name, ok := dimPath(target)
	if !ok {
		ev.warn(at, "unsupported assignment target %s", nodeKind(target))
		return
	}
	keys := make([]*key, len(path))
	for i, d := range path {
		if d == nil {
			continue
		}
		k, ok := ev.toKey(d, ev.expr(d))
		if !ok {
			return
		}
		keys[i] = &k
	}
	base, _ := ev.vars[name].(*array)
	ev.vars[name] = setPath(base, keys, val, ev.at(at))
}

func setPath(base *array, keys []*key, val any, p pos) *array {
	var a *array
	if base == nil {
		a = newArray(1)
	} else {
		a = base.clone()
	}
	k := keys[0]
	if len(keys) == 1 {
		if k == nil {
			a.push(val, p)
		} else {
			a.set(*k, val, p)
		}
		return a
	}
	var child *array
	if k != nil {
		if e, ok := a.get(*k); ok {
			child, _ = e.v.(*array)
		}
	}
	nv := setPath(child, keys[1:], val, p)
	if k == nil {
		a.push(nv, p)
	} else {
		a.set(*k, nv, p)
	}
	return a
}

// dimPath unpacks $name[a][b] into its dims (nil for []).
func dimPath(n ast.Vertex) ([]ast.Vertex, string, bool) {
	d, ok := n.(*ast.ExprArrayDimFetch)
	if !ok {
		return nil, "", false
	}
	if name, ok := varName(d.Var); ok {
		return []ast.Vertex{d.Dim}, name, true
	}
	path, name, ok := dimPath(d.Var)
	if !ok {
		return nil, "", false
	}
	return append(path, d.Dim), name, true
}

func (ev *evaluator) expr(n ast.Vertex) any {
	switch e := n.(type) {
	case *ast.ScalarString:
		return unquote(e.Value)
	case *ast.ScalarLnumber:
		return parseInt(e.Value)
	case *ast.ScalarDnumber:
		return parseFloat(e.Value)
	case *ast.ScalarEncapsed:
		return ev.interpolate(e.Parts, false, "")
	case *ast.ScalarHeredoc:
		return ev.heredoc(e)
	case *ast.ScalarMagicConstant:
		return ev.magic(e)
	case *ast.ExprArray:
		return ev.arrayLit(e.Items)
	case *ast.ExprList:
		return ev.arrayLit(e.Items)
	case *ast.ExprConstFetch:
		return ev.constant(e)
	case *ast.ExprClassConstFetch:
		return ev.classConst(e)
	case *ast.ExprVariable:
		name, ok := varName(e)
		if !ok {
			ev.warn(e, "unsupported variable variable")
			return placeholder("var:?")
		}
		v, ok := ev.vars[name]
		if !ok {
			ev.sink.addOnce(ev.at(e), "var:"+name, "undefined variable $%s; compared as %q", name, "var:$"+name)
			return placeholder("var:$" + name)
		}
		return v
	case *ast.ExprArrayDimFetch:
		return ev.dimFetch(e)
	case *ast.ExprBrackets:
		return ev.expr(e.Expr)
	case *ast.ExprUnaryMinus:
		return ev.arith(e, "*", int64(-1), ev.expr(e.Expr))
	case *ast.ExprUnaryPlus:
		return ev.arith(e, "*", int64(1), ev.expr(e.Expr))
	case *ast.ExprBitwiseNot:
		v := ev.expr(e.Expr)
		if p, ok := v.(placeholder); ok {
			return placeholder("~" + string(p))
		}
		i, ok := ev.toInt(e, v)
		if !ok {
			return placeholder("expr:~?")
		}
		return ^i
	case *ast.ExprBooleanNot:
		v := ev.expr(e.Expr)
		if p, ok := v.(placeholder); ok {
			return placeholder("!" + string(p))
		}
		return !toBool(v)
	case *ast.ExprBinaryPlus:
		return ev.arith(e, "+", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryMinus:
		return ev.arith(e, "-", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryMul:
		return ev.arith(e, "*", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryDiv:
		return ev.arith(e, "/", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryMod:
		return ev.arith(e, "%", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryPow:
		return ev.arith(e, "**", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryBitwiseOr:
		return ev.bitop(e, "|", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryBitwiseAnd:
		return ev.bitop(e, "&", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryBitwiseXor:
		return ev.bitop(e, "^", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryShiftLeft:
		return ev.bitop(e, "<<", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryShiftRight:
		return ev.bitop(e, ">>", ev.expr(e.Left), ev.expr(e.Right))
	case *ast.ExprBinaryConcat:
		l, r := ev.expr(e.Left), ev.expr(e.Right)
		return placeholderOr(l, r, func() any { return ev.str(e, l) + ev.str(e, r) })
	case *ast.ExprBinaryCoalesce:
		l := ev.expr(e.Left)
		if l != nil {
			return l
		}
		return ev.expr(e.Right)
	case *ast.ExprTernary:
		c := ev.expr(e.Cond)
		if p, ok := c.(placeholder); ok {
			ev.warn(e, "ternary on unknown value %s; compared as placeholder", string(p))
			return placeholder("expr:?:")
		}
		if toBool(c) {
			if e.IfTrue == nil { // short ternary `a ?: b`
				return c
			}
			return ev.expr(e.IfTrue)
		}
		return ev.expr(e.IfFalse)
	case *ast.ExprCastInt:
		i, _ := ev.toInt(e, ev.expr(e.Expr))
		return i
	case *ast.ExprCastString:
		return ev.str(e, ev.expr(e.Expr))
	case *ast.ExprCastBool:
		return toBool(ev.expr(e.Expr))
	case *ast.ExprCastDouble:
		f, _ := ev.toFloat(e, ev.expr(e.Expr))
		return f
	case *ast.ExprClosure:
		ev.sink.addOnce(ev.at(e), "closure", "closure cannot be evaluated; compared as %q", "closure@"+ev.atString(e))
		return placeholder("closure@" + ev.atString(e))
	case *ast.ExprArrowFunction:
		ev.sink.addOnce(ev.at(e), "closure", "arrow function cannot be evaluated; compared as %q", "closure@"+ev.atString(e))
		return placeholder("closure@" + ev.atString(e))
	case *ast.ExprFunctionCall:
		name := nameString(e.Function)
		if name == "" {
			name = "?"
		}
		ph := "call:" + name + "()@" + ev.atString(e)
		ev.sink.addOnce(ev.at(e), "call:"+name, "function call %s() cannot be evaluated; compared as %q", name, ph)
		return placeholder(ph)
	case *ast.ExprStaticCall, *ast.ExprMethodCall, *ast.ExprNew, *ast.ExprNullsafeMethodCall:
		ph := "call:" + nodeKind(n) + "@" + ev.atString(n)
		ev.sink.addOnce(ev.at(n), "call:"+nodeKind(n), "%s cannot be evaluated; compared as %q", nodeKind(n), ph)
		return placeholder(ph)
	case nil:
		return nil
	default:
		ev.warn(n, "unsupported expression %s; compared as placeholder", nodeKind(n))
		return placeholder("expr:" + nodeKind(n) + "@" + ev.atString(n))
	}
}

func (ev *evaluator) atString(n ast.Vertex) string {
	p := ev.at(n)
	return fmt.Sprintf("%s:%d", p.file, p.line)
}

func (ev *evaluator) arrayLit(items []ast.Vertex) *array {
	a := newArray(len(items))
	for _, it := range items {
		item, ok := it.(*ast.ExprArrayItem)
		if !ok || (item.Key == nil && item.Val == nil) {
			continue // trailing or skipped list slot
		}
		p := ev.at(item)
		v := ev.expr(item.Val)
		if item.EllipsisTkn != nil {
			src, ok := v.(*array)
			if !ok {
				ev.warn(item, "spread of non-array value")
				continue
			}
			for _, e := range src.entries {
				if e.k.isInt {
					a.push(e.v, e.pos)
				} else {
					a.set(e.k, e.v, e.pos)
				}
			}
			continue
		}
		if item.Key == nil {
			a.push(v, p)
			continue
		}
		k, ok := ev.toKey(item.Key, ev.expr(item.Key))
		if !ok {
			continue
		}
		a.set(k, v, p)
	}
	return a
}

func (ev *evaluator) toKey(n ast.Vertex, v any) (key, bool) {
	switch k := v.(type) {
	case string:
		return strKey(k), true
	case placeholder:
		return strKey(string(k)), true
	case int64:
		return intKey(k), true
	case float64:
		return intKey(int64(k)), true
	case bool:
		if k {
			return intKey(1), true
		}
		return intKey(0), true
	case nil:
		return key{s: ""}, true
	default:
		ev.warn(n, "illegal array key of type %s", phpType(v))
		return key{}, false
	}
}

func (ev *evaluator) dimFetch(e *ast.ExprArrayDimFetch) any {
	base := ev.expr(e.Var)
	if e.Dim == nil {
		ev.warn(e, "cannot read from []")
		return nil
	}
	kv := ev.expr(e.Dim)
	if p, ok := base.(placeholder); ok {
		return placeholder(fmt.Sprintf("%s[%v]", p, kv))
	}
	switch b := base.(type) {
	case *array:
		k, ok := ev.toKey(e.Dim, kv)
		if !ok {
			return nil
		}
		if ent, ok := b.get(k); ok {
			return ent.v
		}
		ev.warn(e, "undefined array key %q", k.String())
		return nil
	case string:
		i, ok := ev.toInt(e.Dim, kv)
		if ok && i >= 0 && int(i) < len(b) {
			return b[i : i+1]
		}
	}
	ev.warn(e, "cannot index %s", phpType(base))
	return nil
}

func (ev *evaluator) constant(e *ast.ExprConstFetch) any {
	name := nameString(e.Const)
	// Constants are looked up without namespace: config files are in the
	// global namespace, and PHP falls back to global constants anyway.
	short := name[strings.LastIndex(name, `\`)+1:]
	switch strings.ToLower(short) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if v, ok := knownConstants[short]; ok {
		return v
	}
	ph := "const:" + short
	ev.sink.addOnce(ev.at(e), ph, "unknown constant %s; compared as %q", short, ph)
	return placeholder(ph)
}

func (ev *evaluator) classConst(e *ast.ExprClassConstFetch) any {
	cls := ev.className(e.Class)
	c := identString(e.Const)
	if strings.EqualFold(c, "class") && cls != "" {
		return cls
	}
	if cls == "" {
		cls = nodeKind(e.Class)
	}
	full := cls + "::" + c
	if v, ok := knownClassConstants[full]; ok {
		return v
	}
	ph := "const:" + full
	ev.sink.addOnce(ev.at(e), ph, "unknown class constant %s; compared as %q", full, ph)
	return placeholder(ph)
}

// className resolves a class reference the way PHP does at compile time:
// fully qualified names as written, otherwise through `use` aliases, then
// relative to the current namespace.
func (ev *evaluator) className(n ast.Vertex) string {
	switch c := n.(type) {
	case *ast.NameFullyQualified:
		return joinParts(c.Parts)
	case *ast.NameRelative:
		return joinNS(ev.ns, joinParts(c.Parts))
	case *ast.Name:
		full := joinParts(c.Parts)
		first, rest, _ := strings.Cut(full, `\`)
		switch strings.ToLower(full) {
		case "self", "static", "parent":
			return ""
		}
		if alias, ok := ev.uses[strings.ToLower(first)]; ok {
			if rest == "" {
				return alias
			}
			return alias + `\` + rest
		}
		return joinNS(ev.ns, full)
	}
	return ""
}

func joinNS(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + `\` + name
}

func (ev *evaluator) magic(e *ast.ScalarMagicConstant) any {
	switch strings.ToUpper(string(e.Value)) {
	case "__LINE__":
		return int64(ev.at(e).line)
	case "__NAMESPACE__":
		return ev.ns
	}
	ph := "const:" + string(e.Value)
	ev.sink.addOnce(ev.at(e), ph, "magic constant %s depends on the runtime; compared as %q", string(e.Value), ph)
	return placeholder(ph)
}

func (ev *evaluator) interpolate(parts []ast.Vertex, raw bool, indent string) any {
	var b strings.Builder
	var ph []string
	for _, p := range parts {
		switch n := p.(type) {
		case *ast.ScalarEncapsedStringPart:
			s := string(n.Value)
			if indent != "" {
				s = strings.ReplaceAll(s, "\n"+indent, "\n")
			}
			if !raw {
				s = unescapeDouble(s, false)
			}
			b.WriteString(s)
		case *ast.ScalarEncapsedStringVar:
			ev.warn(n, "interpolated ${...} expression; compared as placeholder")
			ph = append(ph, "${...}")
			b.WriteString("${...}")
		case *ast.ScalarEncapsedStringBrackets:
			v := ev.expr(n.Var)
			if s, ok := v.(placeholder); ok {
				ph = append(ph, string(s))
			}
			b.WriteString(ev.str(n, v))
		default:
			v := ev.expr(p)
			if s, ok := v.(placeholder); ok {
				ph = append(ph, string(s))
			}
			b.WriteString(ev.str(p, v))
		}
	}
	if len(ph) > 0 {
		return placeholder(b.String())
	}
	return b.String()
}

// heredoc evaluates <<<ID / <<<'ID' bodies, removing the closing marker's
// indentation (PHP 7.3 flexible heredoc) and the final newline.
func (ev *evaluator) heredoc(e *ast.ScalarHeredoc) any {
	open := ""
	if e.OpenHeredocTkn != nil {
		open = string(e.OpenHeredocTkn.Value)
	}
	nowdoc := strings.Contains(open, "'")
	// The closing marker's indentation is the whitespace after the last
	// newline of the body.
	indent := ""
	if n := len(e.Parts); n > 0 {
		if sp, ok := e.Parts[n-1].(*ast.ScalarEncapsedStringPart); ok {
			s := string(sp.Value)
			if i := strings.LastIndexByte(s, '\n'); i >= 0 && strings.Trim(s[i+1:], " \t") == "" {
				indent = s[i+1:]
			}
		}
	}
	v := ev.interpolate(e.Parts, nowdoc, indent)
	trim := func(s string) string {
		s = strings.TrimPrefix(s, indent)
		s = strings.TrimSuffix(s, "\n")
		return strings.TrimSuffix(s, "\r")
	}
	switch s := v.(type) {
	case string:
		return trim(s)
	case placeholder:
		return placeholder(trim(string(s)))
	}
	return v
}

// placeholderOr propagates placeholders through an operation instead of
// inventing a value: "const:X" . "y" stays visibly unknown.
func placeholderOr(l, r any, f func() any) any {
	lp, lok := l.(placeholder)
	rp, rok := r.(placeholder)
	if lok || rok {
		ls, rs := string(lp), string(rp)
		if !lok {
			ls = toPHPString(l)
		}
		if !rok {
			rs = toPHPString(r)
		}
		return placeholder(ls + rs)
	}
	return f()
}

func (ev *evaluator) arith(n ast.Vertex, op string, l, r any) any {
	if lp, ok := l.(placeholder); ok {
		return placeholder(fmt.Sprintf("(%s %s %s)", lp, op, toPHPString(r)))
	}
	if rp, ok := r.(placeholder); ok {
		if op == "*" && l == int64(-1) {
			return placeholder("-" + string(rp))
		}
		return placeholder(fmt.Sprintf("(%s %s %s)", toPHPString(l), op, rp))
	}
	if op == "+" {
		la, lok := l.(*array)
		ra, rok := r.(*array)
		if lok && rok {
			return union(la, ra)
		}
		if lok || rok {
			ev.warn(n, "unsupported operand types %s + %s", phpType(l), phpType(r))
			return placeholder("expr:+@" + ev.atString(n))
		}
	}
	li, lInt := asInt(l)
	ri, rInt := asInt(r)
	if lInt && rInt {
		switch op {
		case "+":
			if s := li + ri; (s > li) == (ri > 0) {
				return s
			}
		case "-":
			if s := li - ri; (s < li) == (ri > 0) {
				return s
			}
		case "*":
			if li == 0 || ri == 0 {
				return int64(0)
			}
			if s := li * ri; s/ri == li && !(li == -1 && ri == math.MinInt64) && !(ri == -1 && li == math.MinInt64) {
				return s
			}
		case "/":
			if ri == 0 {
				ev.warn(n, "division by zero")
				return placeholder("expr:/0")
			}
			if li%ri == 0 {
				return li / ri
			}
		case "%":
			if ri == 0 {
				ev.warn(n, "modulo by zero")
				return placeholder("expr:%0")
			}
			return li % ri
		case "**":
			if ri >= 0 {
				f := math.Pow(float64(li), float64(ri))
				if math.Abs(f) < 1<<62 {
					return int64(f)
				}
				return f
			}
		}
	}
	lf, ok1 := ev.toFloat(n, l)
	rf, ok2 := ev.toFloat(n, r)
	if !ok1 || !ok2 {
		return placeholder("expr:" + op + "@" + ev.atString(n))
	}
	switch op {
	case "+":
		return lf + rf
	case "-":
		return lf - rf
	case "*":
		return lf * rf
	case "/":
		if rf == 0 {
			ev.warn(n, "division by zero")
			return placeholder("expr:/0")
		}
		return lf / rf
	case "%":
		li, ri := int64(lf), int64(rf)
		if ri == 0 {
			ev.warn(n, "modulo by zero")
			return placeholder("expr:%0")
		}
		return li % ri
	case "**":
		return math.Pow(lf, rf)
	}
	return placeholder("expr:" + op)
}

func (ev *evaluator) bitop(n ast.Vertex, op string, l, r any) any {
	_, lp := l.(placeholder)
	_, rp := r.(placeholder)
	if lp || rp {
		return placeholder(fmt.Sprintf("(%s %s %s)", toPHPString(l), op, toPHPString(r)))
	}
	li, ok1 := ev.toInt(n, l)
	ri, ok2 := ev.toInt(n, r)
	if !ok1 || !ok2 {
		return placeholder("expr:" + op + "@" + ev.atString(n))
	}
	switch op {
	case "|":
		return li | ri
	case "&":
		return li & ri
	case "^":
		return li ^ ri
	case "<<":
		if ri < 0 || ri > 63 {
			return int64(0)
		}
		return li << uint(ri)
	case ">>":
		if ri < 0 || ri > 63 {
			if li < 0 {
				return int64(-1)
			}
			return int64(0)
		}
		return li >> uint(ri)
	}
	return placeholder("expr:" + op)
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case nil:
		return 0, true
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

func (ev *evaluator) toInt(n ast.Vertex, v any) (int64, bool) {
	if i, ok := asInt(v); ok {
		return i, true
	}
	if f, ok := v.(float64); ok {
		return int64(f), true
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return int64(f), true
		}
	}
	ev.warn(n, "cannot use %s as a number", phpType(v))
	return 0, false
}

func (ev *evaluator) toFloat(n ast.Vertex, v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, true
		}
	default:
		if i, ok := asInt(v); ok {
			return float64(i), true
		}
	}
	ev.warn(n, "cannot use %s as a number", phpType(v))
	return 0, false
}

func (ev *evaluator) str(n ast.Vertex, v any) string {
	if _, ok := v.(*array); ok {
		ev.warn(n, "array to string conversion")
	}
	return toPHPString(v)
}

func toPHPString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case placeholder:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return phpFloatString(x)
	case bool:
		if x {
			return "1"
		}
		return ""
	case nil:
		return ""
	case *array:
		return "Array"
	}
	return fmt.Sprint(v)
}

// phpFloatString mimics PHP 8's float to string conversion (precision 17,
// shortest round-trip form).
func phpFloatString(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NAN"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'G', -1, 64)
	if strings.Contains(s, "E") {
		mant, exp, _ := strings.Cut(s, "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		if exp[0] != '-' && exp[0] != '+' {
			exp = "+" + exp
		}
		exp = exp[:1] + strings.TrimLeft(exp[1:], "0")
		return mant + "E" + exp
	}
	return s
}

func toBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	case *array:
		return x.Len() > 0
	}
	return true
}

func phpType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string, placeholder:
		return "string"
	case *array:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

func nodeKind(n ast.Vertex) string {
	s := fmt.Sprintf("%T", n)
	return strings.TrimPrefix(s, "*ast.")
}

func varName(n ast.Vertex) (string, bool) {
	v, ok := n.(*ast.ExprVariable)
	if !ok {
		return "", false
	}
	id, ok := v.Name.(*ast.Identifier)
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(string(id.Value), "$"), true
}

func identString(n ast.Vertex) string {
	switch x := n.(type) {
	case *ast.Identifier:
		return string(x.Value)
	case *ast.NamePart:
		return string(x.Value)
	}
	return nameString(n)
}

func nameString(n ast.Vertex) string {
	switch x := n.(type) {
	case *ast.Name:
		return joinParts(x.Parts)
	case *ast.NameFullyQualified:
		return joinParts(x.Parts)
	case *ast.NameRelative:
		return "namespace\\" + joinParts(x.Parts)
	case *ast.Identifier:
		return string(x.Value)
	}
	return ""
}

func joinParts(parts []ast.Vertex) string {
	ss := make([]string, 0, len(parts))
	for _, p := range parts {
		if np, ok := p.(*ast.NamePart); ok {
			ss = append(ss, string(np.Value))
		}
	}
	return strings.Join(ss, `\`)
}

// unquote turns a PHP string literal token into its value.
func unquote(raw []byte) string {
	if len(raw) > 0 && (raw[0] == 'b' || raw[0] == 'B') {
		raw = raw[1:]
	}
	if len(raw) < 2 {
		return string(raw)
	}
	q := raw[0]
	body := raw[1 : len(raw)-1]
	switch q {
	case '\'':
		if bytes.IndexByte(body, '\\') < 0 {
			return string(body)
		}
		var b strings.Builder
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\'') {
				b.WriteByte(body[i+1])
				i++
				continue
			}
			b.WriteByte(c)
		}
		return b.String()
	case '"':
		return unescapeDouble(string(body), true)
	}
	return string(raw)
}

// unescapeDouble applies double-quoted string escapes. Unknown escapes keep
// their backslash, as in PHP.
func unescapeDouble(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		switch n {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'v':
			b.WriteByte('\v')
		case 'e':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case '\\':
			b.WriteByte('\\')
		case '$':
			b.WriteByte('$')
		case '"':
			if quoted {
				b.WriteByte('"')
			} else {
				b.WriteString(`\"`)
			}
		case 'x':
			j := i + 2
			for j < len(s) && j < i+4 && isHex(s[j]) {
				j++
			}
			if j == i+2 {
				b.WriteString(`\x`)
				break
			}
			v, _ := strconv.ParseUint(s[i+2:j], 16, 8)
			b.WriteByte(byte(v))
			i = j - 2
		case 'u':
			if i+2 < len(s) && s[i+2] == '{' {
				if end := strings.IndexByte(s[i+3:], '}'); end >= 0 {
					if v, err := strconv.ParseUint(s[i+3:i+3+end], 16, 32); err == nil {
						b.WriteRune(rune(v))
						i = i + 3 + end - 1
						break
					}
				}
			}
			b.WriteString(`\u`)
		default:
			if n >= '0' && n <= '7' {
				j := i + 1
				for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(s[i+1:j], 8, 16)
				b.WriteByte(byte(v))
				i = j - 2
				break
			}
			b.WriteByte('\\')
			b.WriteByte(n)
		}
		i++
	}
	return b.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// parseInt reads a PHP integer literal; values that overflow become floats,
// as in PHP.
func parseInt(raw []byte) any {
	s := strings.ReplaceAll(string(raw), "_", "")
	base := 10
	digits := s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
	case len(s) > 2 && (s[:2] == "0b" || s[:2] == "0B"):
		base, digits = 2, s[2:]
	case len(s) > 2 && (s[:2] == "0o" || s[:2] == "0O"):
		base, digits = 8, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	if i, err := strconv.ParseInt(digits, base, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(digits, base, 64); err == nil {
		return float64(u)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func parseFloat(raw []byte) any {
	s := strings.ReplaceAll(string(raw), "_", "")
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	// Integer literals too large for int64 are lexed as floats.
	if v, ok := parseInt([]byte(s)).(float64); ok {
		return v
	}
	return float64(0)
}
