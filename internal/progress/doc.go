// Package progress draws a one-line transfer progress bar on a terminal:
// file name, percentage, bytes so far, rate and time left, redrawn at most
// ten times a second with a carriage return and cleared when the file is
// done. New returns nil when the output is not a terminal, and a nil *Bar
// does nothing, so callers stay quiet in pipes and logs without checks.
package progress
