package bigquery

import (
	"context"
	"fmt"
	"regexp"

	bq "cloud.google.com/go/bigquery"
)

// View is a view over the tables, its query in GoogleSQL where
// {{dataset}}.TABLE stands for the quoted `project.dataset.TABLE`.
type View struct {
	Name  string
	Query string
}

// SQL returns the view's query for out.
func (v View) SQL(out Output) string {
	return tableRef.ReplaceAllString(v.Query, "`"+out.Project+"."+out.Dataset+".$1`")
}

var tableRef = regexp.MustCompile(`\{\{dataset\}\}\.(\w+)`)

// Init creates out's dataset, tables and views, leaving what exists; a
// view that exists is updated to the current query.
func Init(ctx context.Context, c *bq.Client, out Output, tables []Table, views []View) error {
	d := c.Dataset(out.Dataset)
	if err := EnsureDataset(ctx, d); err != nil {
		return err
	}
	for _, t := range tables {
		if err := EnsureTable(ctx, d, t); err != nil {
			return err
		}
	}
	for _, v := range views {
		md := &bq.TableMetadata{ViewQuery: v.SQL(out)}
		err := d.Table(v.Name).Create(ctx, md)
		if isAlreadyExists(err) {
			_, err = d.Table(v.Name).Update(ctx, bq.TableMetadataToUpdate{ViewQuery: md.ViewQuery}, "")
		}
		if err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	return nil
}
