package native

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// messageOf reads a Delivery's head as a Message: every field of Message
// must sit in Delivery at the same offset with the same type.
func TestMessageIsDeliveryHead(t *testing.T) {
	mt, dt := reflect.TypeOf(Message{}), reflect.TypeOf(proc.Delivery{})
	if mt.Size() > dt.Size() {
		t.Fatalf("Message is %d bytes, Delivery %d", mt.Size(), dt.Size())
	}
	for i := range mt.NumField() {
		mf := mt.Field(i)
		df, ok := dt.FieldByName(mf.Name)
		if !ok || df.Offset != mf.Offset || df.Type != mf.Type {
			t.Fatalf("Message.%s (offset %d, %v) is not Delivery's (found %v, offset %d, %v)", mf.Name, mf.Offset, mf.Type, ok, df.Offset, df.Type)
		}
	}
	d := proc.Delivery{Kind: proc.DeliveryMessage, From: pid.PID{Node: "n", Host: "h", Seq: 7}, Topic: "t", Payload: msg.String("p"), Err: proc.ErrNoProcess}
	m := *messageOf(&d)
	if m.From != d.From || m.Topic != "t" || !reflect.DeepEqual(m.Payload, d.Payload) {
		t.Fatalf("messageOf gave %+v", m)
	}
	if uintptr(unsafe.Pointer(messageOf(&d))) != uintptr(unsafe.Pointer(&d)) {
		t.Fatal("messageOf does not point at the delivery")
	}
}
