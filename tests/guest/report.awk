# Counts the results in guest TAP streams, one file per boot, named
# build/<kver>/<profile>/tap.txt (the boot's label is "<kver> <profile>").
# A result is a top-level "ok"/"not ok" line: the binaries' kselftest cases
# and PID 1's own checks; "# SKIP" makes it skipped. A stream without the
# "# hpm-done" end marker counts one more failure.
#   -v mode=boot:  print the stream, then its summary line
#   -v mode=total: print every boot's summary, every kernel's (its boots
#                  summed), each failure, and last
#                  "N passed, N failed, N skipped"; exit 1 on any failure.

FNR == 1 {
	if (label != "")
		finish()
	n = split(FILENAME, part, "/")
	label = part[n - 2] " " part[n - 1]
	boots[++nboots] = label
	test = "boot"
	done = 0
}

{ sub(/\r$/, "") }
mode == "boot" { print }

/^# hpm-begin / { test = $3 }
/^# hpm-done/ { done = 1 }
/^# hpm-host: / { host_note = substr($0, 13) }

/^(not )?ok / {
	if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
		skip[label]++
	else if ($0 ~ /^ok /)
		pass[label]++
	else
		failed(test ": " $0)
}

function failed(what) {
	fail[label]++
	failures[++nfailures] = "FAILED " label " " what
}

function finish() {
	if (!done)
		failed(test ": " (host_note != "" ? host_note : "no end marker"))
	host_note = ""
}

function counts(p, f, s) {
	return (p + 0) " passed, " (f + 0) " failed, " (s + 0) " skipped"
}

END {
	if (label != "")
		finish()
	if (mode == "boot") {
		for (i = 1; i <= nfailures; i++)
			print failures[i]
		print "== " label ": " counts(pass[label], fail[label], skip[label])
		exit
	}
	print "== summary"
	for (i = 1; i <= nboots; i++) {
		b = boots[i]
		print b ": " counts(pass[b], fail[b], skip[b])
		tpass += pass[b]; tfail += fail[b]; tskip += skip[b]
		k = b
		sub(/ .*/, "", k)
		if (!(k in kpass))
			kernels[++nkernels] = k
		kpass[k] += pass[b]; kfail[k] += fail[b]; kskip[k] += skip[b]
	}
	print "== per kernel"
	for (i = 1; i <= nkernels; i++) {
		k = kernels[i]
		print k ": " counts(kpass[k], kfail[k], kskip[k])
	}
	for (i = 1; i <= nfailures; i++)
		print failures[i]
	if (tpass + tfail + tskip == 0) {
		print "FAILED: no test ran"
		tfail = 1
	}
	print counts(tpass, tfail, tskip)
	exit tfail > 0
}
