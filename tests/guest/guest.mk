# Test guests: placeholder until the guest suite lands.
.PHONY: guests
guests:
