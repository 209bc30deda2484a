# kontor build. `make` builds build/kontor; `make SAN=1` builds a
# sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer) in build-san/.
# Sources are found by wildcard, so new files need no change here.

PKGS     := libmicrohttpd jansson sqlite3 libpq libsodium libcurl zlib gdlib
CC       ?= gcc
SAN      ?= 0

ifeq ($(SAN),1)
BUILD    := build-san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN    := -fsanitize=address,undefined
else
BUILD    := build
OPT      := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN    :=
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wimplicit-fallthrough -Wno-format-nonliteral
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fstack-protector-strong -Isrc -MMD -MP \
            $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
LDFLAGS  += $(LDSAN)

SRC      := $(filter-out src/main.c,$(wildcard src/*/*.c))
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all run test test-unit test-api bench deps clean unit-bins format

all: $(BUILD)/kontor

$(BUILD)/kontor: $(MAIN_OBJ) $(BUILD)/libkontor.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libkontor.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkontor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkontor.a $(LDLIBS) -lcmocka

unit-bins: $(UNIT_BIN)

deps:
	scripts/deps.sh

run:
	scripts/deps.sh run
	$(MAKE) all
	$(BUILD)/kontor demo

test: deps
	scripts/test.sh

test-unit: all unit-bins
	scripts/test.sh unit

test-api: all
	scripts/test.sh api

bench: deps all
	bench/run.sh

clean:
	rm -rf build build-san

-include $(OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
