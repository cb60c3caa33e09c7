# Harness self-test: a scenario that "passes" but leaves a namespace and an
# XFRM state behind must be reported as a failure by guest-run.
ip netns add nk-leftover
ip xfrm state add src 2001:db8::1 dst 2001:db8::2 proto route2 mode ro coa 2001:db8::3
exit 0
