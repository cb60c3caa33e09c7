// The kernel contract cases on the fake kernel (the same cases run on the
// real kernel in the kernel VM).
#include "mobility/kernel/fake/fake_kernel.hpp"
#include "tests/unit/mobility/kernel/contract_cases.hpp"

namespace nemokey::mobility::kernel::contract {

namespace {
class FakeBackend final : public ContractBackend {
public:
    FakeBackend() : kernel_({"lo", "ct0"}) {}
    Kernel& kernel() override { return kernel_; }
    void drive_until(const std::function<bool()>& done) override {
        while (!done() && !kernel_.idle()) kernel_.run();
    }
    std::string link() const override { return "ct0"; }

private:
    FakeKernel kernel_;
};
}  // namespace

std::unique_ptr<ContractBackend> make_contract_backend() { return std::make_unique<FakeBackend>(); }

}  // namespace nemokey::mobility::kernel::contract
