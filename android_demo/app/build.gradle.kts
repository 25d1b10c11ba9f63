plugins {
    id("com.android.application")
}

android {
    namespace = "com.fommtf.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "com.fommtf.demo"
        minSdk = 28 // MediaMetadataRetriever.getFrameAtIndex for gallery videos
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    androidResources {
        noCompress += "tflite" // memory-map the models from the APK
    }

    testOptions {
        unitTests.all {
            // Golden tests: python android_demo/tools/write_golden.py --out build/golden
            val golden = rootProject.file("build/golden")
            if (golden.isDirectory) it.systemProperty("fomm.golden", golden.absolutePath)
        }
    }
}

dependencies {
    implementation("com.google.ai.edge.litert:litert:1.4.0")
    implementation("com.google.ai.edge.litert:litert-gpu:1.4.0")
    implementation("com.google.ai.edge.litert:litert-gpu-api:1.4.0")
    val camerax = "1.4.1"
    implementation("androidx.camera:camera-core:$camerax")
    implementation("androidx.camera:camera-camera2:$camerax")
    implementation("androidx.camera:camera-lifecycle:$camerax")
    implementation("androidx.appcompat:appcompat:1.7.0")
    testImplementation("junit:junit:4.13.2")
}
