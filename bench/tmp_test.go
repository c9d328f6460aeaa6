package bench

import "testing"

func TestTmpRegistry(t *testing.T) {
	trio, err := startRegistryTrio()
	if err != nil {
		t.Fatal(err)
	}
	defer trio.stop()
	r1, err := registryRegisterP50(trio, 1000)
	t.Log(r1, err)
	r2, err := registryThroughput(trio, 20000)
	t.Log(r2, err)
}
