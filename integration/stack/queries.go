package stack

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Query is one titled SQL query of docs/queries.md.
type Query struct {
	Title string
	SQL   string
}

// DocProject is the dataset docs/queries.md names in its queries.
const DocProject = "my-project.pulse"

var sqlBlock = regexp.MustCompile("(?s)\n## ([^\n]+)\n.*?```sql\n(.*?)```")

// Queries reads the queries of a markdown file such as docs/queries.md,
// pointed at dataset (project.dataset).
func Queries(path, dataset string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	var qs []Query
	for _, m := range sqlBlock.FindAllStringSubmatch(string(b), -1) {
		qs = append(qs, Query{Title: m[1], SQL: strings.ReplaceAll(m[2], DocProject, dataset)})
	}
	return qs, nil
}
