// Package pid defines the process identifier of wippyd.
//
// A PID names one process in a cluster: the node it lives on, the host
// (process pool) inside that node, and a per-node sequence number. Its
// string form is {node@host|0x<hex seq>}, for example
// {n1@app:processes|0x0004a}. PIDs travel between processes and nodes as
// that string and Parse turns it back into the same value.
//
// A node draws the start of its sequence at boot (see runtime), so a node
// restarted under the same name never hands out a PID of its previous life.
//
// PID is a small comparable value: use it as a map key, copy it freely.
package pid
