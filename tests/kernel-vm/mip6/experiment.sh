# Manual experiment (not a ctest; it unloads xfrm_interface): all variants of
# mip6_signalling.py in one VM run:
#   flock /tmp/nemokey-vm.lock tests/kernel-vm/run-scenario --build build tests/kernel-vm/mip6/experiment.sh
trap 'ip netns del nk-sig-ha 2>/dev/null; ip netns del nk-sig-mn 2>/dev/null' EXIT
D="/usr/bin/python3 $NK_SRC/tests/kernel-vm/mip6/mip6_signalling.py $NK_OUT $NK_BUILD/tests/kernel-vm/nk_probe"
$D sub main main-typesel sub-nowild
echo "driver exit $?"
# Without xfrm_interface the nested policy check (xfrmi_input) is gone.
grep -q '^xfrm_interface ' /proc/modules && rmmod xfrm_interface && echo "rmmod xfrm_interface: done"
$D sub-noesppol
echo "driver exit $?"
