package repo

import "syscall"

// statTimes returns a file's ctime and mtime as the index stores them
// (seconds and nanoseconds, truncated to 32 bits).
func statTimes(st *syscall.Stat_t) (ctime, mtime [2]uint32) {
	return [2]uint32{uint32(st.Ctim.Sec), uint32(st.Ctim.Nsec)}, [2]uint32{uint32(st.Mtim.Sec), uint32(st.Mtim.Nsec)}
}
