// Writes a tar with Go's archive/tar the way LinuxKit does (hdr.Format = tar.FormatPAX, PAXRecords kept),
// from a JSON list of entries on stdin. Used to produce and re-check test/tar/go-golden.tar.
package main

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"os"
	"time"
)

type entry struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Mode     int64             `json:"mode"`
	UID      int               `json:"uid"`
	GID      int               `json:"gid"`
	Uname    string            `json:"uname"`
	Gname    string            `json:"gname"`
	Mtime    int64             `json:"mtime"`
	Linkname string            `json:"linkname"`
	Devmajor int64             `json:"devmajor"`
	Devminor int64             `json:"devminor"`
	Pax      map[string]string `json:"pax"` // base64 values
	Data     string            `json:"data"`
}

var flags = map[string]byte{"file": '0', "link": '1', "symlink": '2', "character-device": '3', "block-device": '4', "directory": '5', "fifo": '6'}

func main() {
	var entries []entry
	if err := json.NewDecoder(os.Stdin).Decode(&entries); err != nil {
		panic(err)
	}
	tw := tar.NewWriter(os.Stdout)
	for _, e := range entries {
		hdr := &tar.Header{
			Format: tar.FormatPAX, Name: e.Name, Typeflag: flags[e.Type], Mode: e.Mode, Uid: e.UID, Gid: e.GID,
			Uname: e.Uname, Gname: e.Gname, ModTime: time.Unix(e.Mtime, 0), Linkname: e.Linkname,
			Devmajor: e.Devmajor, Devminor: e.Devminor, Size: int64(len(e.Data)),
		}
		if len(e.Pax) > 0 {
			hdr.PAXRecords = map[string]string{}
			for k, v := range e.Pax {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					panic(err)
				}
				hdr.PAXRecords[k] = string(b)
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(e.Data)); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
}
