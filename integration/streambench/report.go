package streambench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// LoadAverage returns the machine's 1, 5 and 15 minute load averages as
// /proc/loadavg gives them, or "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Print writes the result as tables.
func Print(w io.Writer, r *Result) {
	c := r.Config
	pub := r.PublishEnd.Sub(r.Began).Seconds()
	fmt.Fprintf(w, "streaming job (%s) on prism, Pub/Sub fake -> BigQuery emulator: target %.0f events/s for %v, warm-up %v; %d CPUs, load average %s before, %s after\n",
		c.Pipeline, c.Rate, c.Duration, c.Warmup, runtime.NumCPU(), r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  published\t%d events in %.1f s: %.0f events/s\n", r.Published, pub, float64(r.Published)/pub)
	fmt.Fprintf(tw, "  read by the job\t%.0f events/s sustained from the warm-up's end until it had read all (%.1f s after publishing ended); %d events unread when publishing ended; the job exited %.1f s after publishing ended\n",
		r.Sustained, r.CaughtUp.Sub(r.PublishEnd).Seconds(), r.Backlog, r.JobEnd.Sub(r.PublishEnd).Seconds())
	if s := r.Summary; s != nil {
		fmt.Fprintf(tw, "  job's count\tread %d events: %d used, %d dead-lettered, %d de-duplicated\n", s[0], s[1], s[2], s[3])
	}
	d := r.Delays
	fmt.Fprintf(tw, "  item_metrics\t%d item/window rows, %d complete; %d of %d events queryable; %d rows counted %d events more than were published\n",
		d.Keys, d.Complete, d.Visible, d.Published, d.Overcounted, d.Excess)
	fmt.Fprintf(tw, "  queries\t%d of item_metrics, one every %v, %.2f s each on average\n", r.Queries, c.Poll, r.QueryTime.Seconds())
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "publish -> queryable delay, s (events published after the warm-up)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tcount\tp50\tp90\tp99\tmax\t")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"per event", d.Event}, {"per row, last event", d.Row}} {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name, len(row.d), Quantile(row.d, 0.5).Seconds(),
			Quantile(row.d, 0.9).Seconds(), Quantile(row.d, 0.99).Seconds(), Quantile(row.d, 1).Seconds())
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "the pulse process over the run (prism and the SDK worker are in it)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "elapsed s\tevents read\trows written\tRSS MB\t")
	var peak int64
	for _, s := range r.Samples {
		peak = max(peak, s.RSS)
	}
	for _, s := range thin(r.Samples, 20) {
		fmt.Fprintf(tw, "%.0f\t%d\t%d\t%.0f\t\n", s.At.Sub(r.Began).Seconds(), s.Read, s.Written, float64(s.RSS)/(1<<20))
	}
	tw.Flush()
	fmt.Fprintf(w, "peak RSS sampled %.0f MB\n", float64(peak)/(1<<20))
}

// thin returns at most about n samples spread evenly over the run, always
// with the last one.
func thin(samples []Sample, n int) []Sample {
	if len(samples) <= n {
		return samples
	}
	step := (len(samples) + n - 1) / n
	var out []Sample
	for i := 0; i < len(samples); i += step {
		out = append(out, samples[i])
	}
	if last := samples[len(samples)-1]; out[len(out)-1].At != last.At {
		out = append(out, last)
	}
	return out
}
