# Manual experiment: kprobe stack traces of __xfrm_policy_check while the first
# BU arrives (showed xfrmi_input as the dropping caller, F1 in drafts-notes/linux-mip6-xfrm.md).
trap 'ip netns del nk-sig-ha 2>/dev/null; ip netns del nk-sig-mn 2>/dev/null; echo 0 > $T/tracing_on' EXIT
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null || mount -t debugfs nodev /sys/kernel/debug
[ -d $T/events ] || T=/sys/kernel/debug/tracing
ls $T | head -3
echo 'p:pc __xfrm_policy_check dir=%si:s32' >> $T/kprobe_events
echo 'p:ia xfrm6_input_addr proto=%cx:u8' >> $T/kprobe_events
echo 'p:xi xfrm_input nexthdr=%si:s32 spi=%dx:x32' >> $T/kprobe_events
echo 'r:pcr __xfrm_policy_check ret=$retval:s32' >> $T/kprobe_events
echo 20000 > $T/buffer_size_kb
for e in pc ia xi pcr; do echo 1 > $T/events/kprobes/$e/enable; done
echo stacktrace > $T/events/kprobes/pc/trigger
echo 1 > $T/events/skb/kfree_skb/enable
echo 1 > $T/tracing_on
NK_STOP_AFTER=bu1 /usr/bin/python3 "$NK_SRC/tests/kernel-vm/mip6/mip6_signalling.py" "$NK_OUT" "$NK_BUILD/tests/kernel-vm/nk_probe" sub
echo 0 > $T/tracing_on
cat $T/trace > $NK_OUT/trace.txt
grep -v "^#" $T/trace | grep -B2 -A30 "ia:" | head -150
