package server

// onRead, when set, sees every chunk a connection reads before it is
// answered. It exists for fault injection: unit tests set it directly, and
// binaries built with the faultinject tag set it to panic on a marker. In
// release builds it is nil and costs one comparison per read.
var onRead func(data []byte)
