package bigquery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

// Table describes one of Pulse's tables.
type Table struct {
	// Name is the table's name in the dataset.
	Name string
	// Row is a zero value of the Go row type; its bigquery tags name
	// the columns.
	Row any
	// ClusterBy lists up to four columns to cluster on, main key first.
	ClusterBy []string
}

// Columns whose names say they hold a time are TIMESTAMP columns; the rows
// carry them as RFC 3339 text.
func isTimeColumn(name string) bool {
	return strings.HasSuffix(name, "_time") || strings.HasSuffix(name, "_start") ||
		strings.HasSuffix(name, "_end") || strings.HasSuffix(name, "_at")
}

// partitionColumns, in order of preference: the window, then the event.
var partitionColumns = []string{"window_end", "event_time", "snapshot_time", "session_start", "seen_at"}

type column struct {
	index []int
	name  string
	typ   bq.FieldType
	ptr   bool
}

var columnCache sync.Map // reflect.Type → []column

// columns lists the columns of a row type, flattening embedded structs.
func columns(t reflect.Type) ([]column, error) {
	if c, ok := columnCache.Load(t); ok {
		return c.([]column), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("bigquery row %v: want a struct", t)
	}
	var cols []column
	var walk func(t reflect.Type, prefix []int) error
	walk = func(t reflect.Type, prefix []int) error {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				if err := walk(f.Type, idx); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("bigquery"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			ft, ptr := f.Type, false
			if ft.Kind() == reflect.Pointer {
				ft, ptr = ft.Elem(), true
			}
			c := column{index: idx, name: name, ptr: ptr}
			switch ft.Kind() {
			case reflect.String:
				c.typ = bq.StringFieldType
				if isTimeColumn(name) {
					c.typ = bq.TimestampFieldType
				}
			case reflect.Bool:
				c.typ = bq.BooleanFieldType
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint8, reflect.Uint16, reflect.Uint32:
				c.typ = bq.IntegerFieldType
			case reflect.Float32, reflect.Float64:
				c.typ = bq.FloatFieldType
			default:
				return fmt.Errorf("bigquery row %v: field %s has unsupported type %v", t, f.Name, f.Type)
			}
			cols = append(cols, c)
		}
		return nil
	}
	if err := walk(t, nil); err != nil {
		return nil, err
	}
	columnCache.Store(t, cols)
	return cols, nil
}

// Schema returns the table schema of a row type. Every column is
// nullable: a row of an older version of Pulse still inserts.
func Schema(row any) (bq.Schema, error) {
	cols, err := columns(reflect.TypeOf(row))
	if err != nil {
		return nil, err
	}
	s := make(bq.Schema, len(cols))
	for i, c := range cols {
		s[i] = &bq.FieldSchema{Name: c.name, Type: c.typ}
	}
	return s, nil
}

// Metadata returns the table's metadata: schema, day partitioning on its
// window or event time, clustering on its main key.
func Metadata(t Table) (*bq.TableMetadata, error) {
	s, err := Schema(t.Row)
	if err != nil {
		return nil, err
	}
	md := &bq.TableMetadata{Schema: s}
	for _, p := range partitionColumns {
		if f := find(s, p); f != nil && f.Type == bq.TimestampFieldType {
			md.TimePartitioning = &bq.TimePartitioning{Type: bq.DayPartitioningType, Field: p}
			break
		}
	}
	if len(t.ClusterBy) > 0 {
		for _, c := range t.ClusterBy {
			if find(s, c) == nil {
				return nil, fmt.Errorf("table %s: cluster column %q is not a column", t.Name, c)
			}
		}
		md.Clustering = &bq.Clustering{Fields: t.ClusterBy}
	}
	return md, nil
}

func find(s bq.Schema, name string) *bq.FieldSchema {
	for _, f := range s {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// EnsureTable creates the table unless it exists.
func EnsureTable(ctx context.Context, d *bq.Dataset, t Table) error {
	md, err := Metadata(t)
	if err != nil {
		return err
	}
	err = d.Table(t.Name).Create(ctx, md)
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	return nil
}

// EnsureDataset creates the dataset unless it exists.
func EnsureDataset(ctx context.Context, d *bq.Dataset) error {
	err := d.Create(ctx, &bq.DatasetMetadata{})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("create dataset %s: %w", d.DatasetID, err)
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && e.Code == http.StatusConflict
}

// values converts a row into the values of its columns.
func values(row any) (map[string]bq.Value, error) {
	v := reflect.ValueOf(row)
	cols, err := columns(v.Type())
	if err != nil {
		return nil, err
	}
	m := make(map[string]bq.Value, len(cols))
	for _, c := range cols {
		f := v.FieldByIndex(c.index)
		if c.ptr {
			if f.IsNil() {
				m[c.name] = nil
				continue
			}
			f = f.Elem()
		}
		switch c.typ {
		case bq.TimestampFieldType:
			s := f.String()
			if s == "" {
				m[c.name] = nil
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.name, err)
			}
			m[c.name] = t
		case bq.StringFieldType:
			m[c.name] = f.String()
		case bq.BooleanFieldType:
			m[c.name] = f.Bool()
		case bq.IntegerFieldType:
			if f.CanInt() {
				m[c.name] = f.Int()
			} else {
				m[c.name] = int64(f.Uint())
			}
		case bq.FloatFieldType:
			x := f.Float()
			if math.IsNaN(x) || math.IsInf(x, 0) {
				// JSON has no NaN or infinity: the value is unknown.
				m[c.name] = nil
				continue
			}
			m[c.name] = x
		}
	}
	return m, nil
}
