// Package integration holds Pulse's end-to-end tests against real local
// services: a prism job server started as its own process, receiving the
// pipelines exactly as a Flink job server would. It is a module of its
// own, so that the services it will start (the BigQuery emulator needs cgo
// and a C++ toolchain) stay out of the library's dependency graph.
package integration
