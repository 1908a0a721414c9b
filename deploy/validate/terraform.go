package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ProjectNumber stands in for data.google_project.this.number when Terraform expressions are
// evaluated offline.
const ProjectNumber = "PROJECT_NUMBER"

// Terraform is a parsed Terraform directory, enough to read resource attributes without
// providers or state.
type Terraform struct {
	// Resources maps "TYPE.NAME" to the resource's block, data sources included as
	// "data.TYPE.NAME".
	Resources map[string]*hclsyntax.Block
	// Variables maps each variable to its default, or to the placeholder
	// upper-case name (project_id becomes "PROJECT_ID") when it has none.
	Variables map[string]cty.Value

	ctx *hcl.EvalContext
}

// LoadTerraform parses every .tf file in dir and evaluates variable defaults and locals.
func LoadTerraform(dir string) (*Terraform, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	parser := hclparse.NewParser()
	tf := &Terraform{Resources: make(map[string]*hclsyntax.Block), Variables: make(map[string]cty.Value)}
	locals := make(map[string]hcl.Expression)
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, diags := parser.ParseHCL(src, path)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if err := tf.addBlock(b, locals); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	if err := tf.evalLocals(locals); err != nil {
		return nil, err
	}
	return tf, nil
}

func (tf *Terraform) addBlock(b *hclsyntax.Block, locals map[string]hcl.Expression) error {
	switch b.Type {
	case "resource":
		tf.Resources[b.Labels[0]+"."+b.Labels[1]] = b
	case "data":
		tf.Resources["data."+b.Labels[0]+"."+b.Labels[1]] = b
	case "variable":
		name := b.Labels[0]
		tf.Variables[name] = cty.StringVal(strings.ToUpper(name))
		if def, ok := b.Body.Attributes["default"]; ok {
			v, diags := def.Expr.Value(nil)
			if diags.HasErrors() {
				return fmt.Errorf("variable %s default: %w", name, diags)
			}
			tf.Variables[name] = v
		}
	case "locals":
		for name, attr := range b.Body.Attributes {
			locals[name] = attr.Expr
		}
	}
	return nil
}

// evalLocals evaluates locals in dependency order by retrying those whose references are not
// yet known, the way Terraform's graph would order them.
func (tf *Terraform) evalLocals(pending map[string]hcl.Expression) error {
	tf.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(tf.Variables),
		"data": cty.ObjectVal(map[string]cty.Value{
			"google_project": cty.ObjectVal(map[string]cty.Value{
				"this": cty.ObjectVal(map[string]cty.Value{"number": cty.StringVal(ProjectNumber)}),
			}),
		}),
	}}
	known := make(map[string]cty.Value)
	for len(pending) > 0 {
		progress := false
		for name, expr := range pending {
			tf.ctx.Variables["local"] = cty.ObjectVal(known)
			v, diags := expr.Value(tf.ctx)
			if diags.HasErrors() {
				continue
			}
			known[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			return fmt.Errorf("cannot evaluate locals %v offline", sortedKeys(pending))
		}
	}
	tf.ctx.Variables["local"] = cty.ObjectVal(known)
	return nil
}

// Attr returns the expression at path inside resource addr: zero or more nested block types,
// then an attribute name, as in ("retry_policy", "minimum_backoff").
func (tf *Terraform) Attr(addr string, path ...string) (hcl.Expression, error) {
	b, ok := tf.Resources[addr]
	if !ok {
		return nil, fmt.Errorf("no resource %s", addr)
	}
	body := b.Body
	for _, blockType := range path[:len(path)-1] {
		var next *hclsyntax.Body
		for _, nb := range body.Blocks {
			if nb.Type == blockType {
				next = nb.Body
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%s: no %s block", addr, blockType)
		}
		body = next
	}
	attr, ok := body.Attributes[path[len(path)-1]]
	if !ok {
		return nil, fmt.Errorf("%s: no attribute %s", addr, strings.Join(path, "."))
	}
	return attr.Expr, nil
}

// Value evaluates the attribute at path against variable defaults and locals, and renders it
// as a string: strings as themselves, numbers and bools in Terraform's notation, lists as
// "[a b]". An expression that refers to other resources cannot be evaluated offline; use Refs.
func (tf *Terraform) Value(addr string, path ...string) (string, error) {
	expr, err := tf.Attr(addr, path...)
	if err != nil {
		return "", err
	}
	v, diags := expr.Value(tf.ctx)
	if diags.HasErrors() {
		return "", fmt.Errorf("%s %s: %w", addr, strings.Join(path, "."), diags)
	}
	return ctyString(v), nil
}

// Refs returns the resource addresses ("TYPE.NAME" or "data.TYPE.NAME") that the attribute at
// path refers to, sorted.
func (tf *Terraform) Refs(addr string, path ...string) ([]string, error) {
	expr, err := tf.Attr(addr, path...)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool)
	for _, t := range expr.Variables() {
		names := traversalNames(t)
		switch {
		case len(names) >= 3 && names[0] == "data":
			set[strings.Join(names[:3], ".")] = true
		case len(names) >= 2 && names[0] != "var" && names[0] != "local":
			set[strings.Join(names[:2], ".")] = true
		}
	}
	return sortedKeys(set), nil
}

// ResourcesOfType returns the addresses of all resources of the given type, sorted.
func (tf *Terraform) ResourcesOfType(typ string) []string {
	var out []string
	for addr := range tf.Resources {
		if strings.HasPrefix(addr, typ+".") {
			out = append(out, addr)
		}
	}
	sort.Strings(out)
	return out
}

func traversalNames(t hcl.Traversal) []string {
	var names []string
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			names = append(names, s.Name)
		case hcl.TraverseAttr:
			names = append(names, s.Name)
		default:
			return names
		}
	}
	return names
}

func ctyString(v cty.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case !v.IsKnown():
		return "(unknown)"
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	case v.CanIterateElements():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, ctyString(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return v.GoString()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ContractFromTerraform reads the names the manifests must share with Terraform.
func ContractFromTerraform(tf *Terraform) (Contract, error) {
	var c Contract
	fields := []struct {
		dst  *string
		addr string
	}{
		{&c.Topic, "google_pubsub_topic.objects"},
		{&c.Subscription, "google_pubsub_subscription.worker"},
		{&c.DeadLetterTopic, "google_pubsub_topic.dead_letter"},
	}
	for _, f := range fields {
		v, err := tf.Value(f.addr, "name")
		if err != nil {
			return Contract{}, err
		}
		*f.dst = v
	}
	vars := []struct {
		dst  *string
		name string
	}{
		{&c.Namespace, "namespace"},
		{&c.WorkerServiceAccount, "worker_service_account"},
		{&c.ProducerServiceAccount, "producer_service_account"},
	}
	for _, v := range vars {
		val, ok := tf.Variables[v.name]
		if !ok || val.Type() != cty.String {
			return Contract{}, fmt.Errorf("variable %s: missing or not a string", v.name)
		}
		*v.dst = val.AsString()
	}
	return c, nil
}
