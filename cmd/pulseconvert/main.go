// Command pulseconvert turns public behaviour datasets into Pulse's event
// contract, one JSON event per line, so that real data can be replayed:
//
//	pulseconvert --format=taobao --input=taobao_userbehavior_10k.csv --output=taobao.jsonl
//
// Formats: taobao (the Taobao UserBehavior log: user_id,item_id,category_id,
// behavior,unix_seconds; pv→view, cart→cart, fav→favorite, buy→purchase,
// category_id→category, Unix seconds→event_time, line number→event_id).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pulse-analytics/pulse/transforms/taobao"
)

var converters = map[string]func(io.Reader, io.Writer) (int, error){
	"taobao": taobao.Convert,
}

func main() {
	format := flag.String("format", "taobao", "input format: taobao")
	input := flag.String("input", "-", "file to convert, or - for standard input")
	output := flag.String("output", "-", "file to write, or - for standard output")
	flag.Parse()
	convert, ok := converters[*format]
	if !ok {
		fail(fmt.Errorf("--format=%q: want taobao", *format))
	}
	in := os.Stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		in = f
	}
	out := os.Stdout
	if *output != "-" {
		f, err := os.Create(*output)
		if err != nil {
			fail(err)
		}
		out = f
	}
	w := bufio.NewWriterSize(out, 1<<16)
	n, err := convert(bufio.NewReaderSize(in, 1<<16), w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil && out != os.Stdout {
		err = out.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulseconvert: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "pulseconvert: %d events\n", n)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulseconvert: %v\n", err)
	os.Exit(2)
}
