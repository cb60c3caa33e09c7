# Assertions for test scripts: kernel-VM scenarios and shell unit tests (bash; source it).
#   check "what" command...   runs command; counts and prints ok/FAIL
#   check_done                prints the totals; returns non-zero on any failure
CHECK_PASS=0
CHECK_FAIL=0
check() {
  local what=$1; shift
  if "$@"; then
    CHECK_PASS=$((CHECK_PASS + 1)); echo "ok   $what"
  else
    CHECK_FAIL=$((CHECK_FAIL + 1)); echo "FAIL $what"
  fi
}
check_done() {
  echo "checks: $CHECK_PASS passed, $CHECK_FAIL failed"
  ((CHECK_FAIL == 0 && CHECK_PASS > 0))
}
