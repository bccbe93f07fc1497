#!/bin/bash
# Run by the VM's init (/sbin/fsvm-init, see test/vm/image.ts) with the project mounted read-only at
# /opt/frr-supervisor. Runs the test, sends its exit status to the host on the results port (ttyS1).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
hostname fsvm
ip link set lo up
echo "fsvm: kernel $(uname -r), $(nproc) cpu(s), node $(node --version), $(/usr/lib/frr/zebra --version 2>/dev/null | head -1)"
bash /opt/frr-supervisor/test/vm/guest/test.sh
rc=$?
echo "fsvm-exit $rc" > /dev/ttyS1
echo "fsvm: test exited $rc"
